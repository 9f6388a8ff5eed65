"""What a run will cost, estimated from its inputs and settings before the first model call.

The estimate is deliberately simple (four characters a token, one fact per few hundred characters
of source) and errs high: it exists to stop a mistaken run (a folder of 500 files, a 19 MB
one-line file) before it spends anything, not to forecast an invoice. The hard limits the run
keeps while it works are :class:`Budget`, which the model client checks before every live call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .cost import cost_usd
from .errors import BudgetExceededError
from .models import Usage

CHARS_PER_TOKEN = 4
PROMPT_OVERHEAD_CHARS = 4_000  # system prompt, instructions and schema of one call
FACT_CHARS = 220  # one fact as the drafting prompt shows it
SOURCE_CHARS_PER_FACT = 400
MAX_FACTS_PER_CHUNK = 30  # the answer schema's bound
FACTS_ANSWER_TOKENS = 1_500
SECTION_ANSWER_TOKENS = 700


@dataclass(frozen=True)
class Budget:
    """Hard limits on what one run may spend (None: no limit)."""

    max_calls: int | None = None
    max_prompt_tokens: int | None = None

    def check(self, calls: int, prompt_tokens: int, before: str) -> None:
        """Stop before the next live call (``before`` says which) once a limit is reached."""
        if self.max_calls is not None and calls >= self.max_calls:
            raise BudgetExceededError(
                f"the run reached --max-calls {self.max_calls} before {before}: "
                "raise --max-calls, or pass --yes to go past the limits"
            )
        if self.max_prompt_tokens is not None and prompt_tokens >= self.max_prompt_tokens:
            raise BudgetExceededError(
                f"the run reached --max-prompt-tokens {self.max_prompt_tokens:,} before "
                f"{before}: raise it, or pass --yes to go past the limits"
            )


def tokens(chars: int) -> int:
    return chars // CHARS_PER_TOKEN + 1


@dataclass(frozen=True)
class Estimate:
    """Expected calls and prompt tokens (no re-asks or repairs) and the worst case (all of them)."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    worst_calls: int
    worst_prompt_tokens: int
    cost_usd: float | None

    def after(self, calls: int, prompt_tokens: int) -> Estimate:
        """This estimate on top of what the run has already spent."""
        return replace(
            self,
            calls=self.calls + calls,
            prompt_tokens=self.prompt_tokens + prompt_tokens,
            worst_calls=self.worst_calls + calls,
            worst_prompt_tokens=self.worst_prompt_tokens + prompt_tokens,
        )

    def plus(self, other: Estimate) -> Estimate:
        """Two runs' estimates as one (a batch run's universe); an unknown cost stays unknown."""
        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else (self.cost_usd + other.cost_usd)
        )
        return Estimate(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.worst_calls + other.worst_calls,
            self.worst_prompt_tokens + other.worst_prompt_tokens,
            cost,
        )

    def describe(self) -> str:
        cost = "" if self.cost_usd is None else f", about ${self.cost_usd:.2f}"
        return (
            f"Plan: about {self.calls:,} model call(s) and {self.prompt_tokens:,} prompt tokens"
            f"{cost} (at most {self.worst_calls:,} calls and {self.worst_prompt_tokens:,} "
            "prompt tokens if every section needs every repair)"
        )


RESTATED_EVIDENCE_CHARS = 600  # one to three sentences
# The model check (--verify): one call per sentence that cites facts.
VERIFY_PROMPT_CHARS = 2_500  # system prompt, instructions, schema and the sentence
VERIFY_FACT_CHARS = 700  # one cited fact: statement and quote
VERIFY_ANSWER_TOKENS = 80
SENTENCES_PER_SECTION = 6  # citing sentences of a drafted section (the AREC draft has 5.4)
CITES_PER_SENTENCE = 2
# As drafted, a section has at most 3 paragraphs of 6 sentences, each citing at most 6 facts
# (draft.py's answer schema); max_verify_sentences caps the checks in any case.
MAX_SENTENCES_PER_SECTION = 18
MAX_CITES_PER_SENTENCE = 6


def estimate(
    chunk_chars: Sequence[int],
    facts: int | None,
    sections: int,
    max_repairs: int,
    reasks: int,
    model: str,
    prices: Mapping[str, tuple[float, float]],
    max_facts_per_section: int | None = None,
    max_restatements: int = 0,
    verify_sentences: int = 0,
) -> Estimate:
    """``chunk_chars``: the size of each facts call's source text (empty when starting from a
    ledger); ``facts``: the ledger's size when known, else estimated from the sources;
    ``max_facts_per_section``: the most facts one section's prompt carries (None: all);
    ``max_restatements``: the most restatement calls of misstated facts (worst case only: a
    restatement carries one or a few sentences); ``verify_sentences``: the most sentences the
    model check reads (``max_verify_sentences``; 0 when ``--verify`` is off)."""
    if facts is None:
        facts = sum(min(MAX_FACTS_PER_CHUNK, c // SOURCE_CHARS_PER_FACT + 1) for c in chunk_chars)
    facts_prompt = sum(tokens(PROMPT_OVERHEAD_CHARS + c) for c in chunk_chars)
    shown = facts if max_facts_per_section is None else min(facts, max_facts_per_section)
    section_prompt = tokens(PROMPT_OVERHEAD_CHARS + shown * FACT_CHARS)
    calls = len(chunk_chars) + sections
    prompt = facts_prompt + sections * section_prompt
    completion = len(chunk_chars) * FACTS_ANSWER_TOKENS + sections * SECTION_ANSWER_TOKENS
    tries = 1 + reasks
    # A repair resends the conversation so far: the n-th attempt carries about n prompts' worth.
    attempts = 1 + max_repairs
    worst_section = section_prompt * attempts * (attempts + 1) // 2
    restate = min(max_restatements, facts) if chunk_chars else 0
    restate_prompt = restate * tokens(PROMPT_OVERHEAD_CHARS // 2 + RESTATED_EVIDENCE_CHARS)
    worst_calls = (len(chunk_chars) + restate) * tries + sections * attempts * tries
    worst_prompt = (facts_prompt + restate_prompt) * tries + sections * worst_section * tries
    verify = min(verify_sentences, sections * SENTENCES_PER_SECTION)
    worst_verify = min(verify_sentences, sections * MAX_SENTENCES_PER_SECTION)
    calls += verify
    prompt += verify * tokens(VERIFY_PROMPT_CHARS + CITES_PER_SENTENCE * VERIFY_FACT_CHARS)
    completion += verify * VERIFY_ANSWER_TOKENS
    worst_calls += worst_verify * tries
    worst_prompt += (
        worst_verify * tokens(VERIFY_PROMPT_CHARS + MAX_CITES_PER_SENTENCE * VERIFY_FACT_CHARS)
    ) * tries
    price = cost_usd(model, Usage(prompt_tokens=prompt, completion_tokens=completion), prices)
    return Estimate(calls, prompt, completion, worst_calls, worst_prompt, price)


def check(plan: Estimate, max_calls: int, max_prompt_tokens: int) -> None:
    """Stop before the first call when the expected run is over a limit (``--yes`` skips this)."""
    if plan.calls > max_calls:
        raise BudgetExceededError(
            f"this run needs about {plan.calls:,} model calls, over --max-calls {max_calls:,}: "
            "pass fewer or smaller sources, raise --max-calls, or pass --yes to go ahead"
        )
    if plan.prompt_tokens > max_prompt_tokens:
        raise BudgetExceededError(
            f"this run sends about {plan.prompt_tokens:,} prompt tokens, over --max-prompt-tokens "
            f"{max_prompt_tokens:,}: pass fewer or smaller sources, raise the limit, or pass --yes "
            "to go ahead"
        )
