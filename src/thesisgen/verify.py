"""The optional model check (``--verify``): does each sentence say what the facts it cites say?

The number rule (:mod:`thesisgen.validate`) proves every figure, but a sentence can carry a backed
figure and still misstate its fact: "more than" where the fact says "nearly", a plan told as a
result, the partner's figure given to the company. Here the model reads each sentence that cites
facts, with those facts' statements and verbatim quotes, and answers
``{"verdict": "supported" | "contradicted" | "not_enough_info", "reason": "..."}``.

- ``comment``: a contradicted sentence becomes a reviewer comment ``model_contradicted``, an
  unconfirmed one ``model_unverified``; the gate's verdict does not change.
- ``gate``: a contradicted sentence is a violation ``model_contradicted``, so the gate fails as for
  any other violation; an unconfirmed one stays a comment.

It runs once, on the final draft (after drafting and its repairs), over the sentences in memo
order: the first ``max_verify_sentences`` are checked and the rest are left unchecked with a
warning, so one draft always sends the same requests (and a replay finds the same recordings).
An answer that is not the schema is re-asked by the client (:mod:`thesisgen.llm`); when it still
is not, the sentence is left unverified, with a comment and a warning, and the run goes on.

The requests are built (:func:`checks`, :func:`thesisgen.prompts.verify_messages`) and the answers
read (:func:`judge`, :func:`findings`, :func:`with_verification`) by pure functions;
:func:`verify_memo` makes the calls.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import DEFAULTS, VerifyMode
from .errors import AnswerShapeError, BudgetExceededError
from .llm import LLM, CallResult, map_concurrently
from .models import (
    MODEL_CHECK_WARNING,
    CallRecord,
    Comment,
    Fact,
    FactSet,
    Memo,
    Report,
    Violation,
)
from .notation import KEY_FIGURES_SECTION
from .progress import Event, OnEvent, Status, no_event
from .prompts import verify_messages
from .recording import CallLabel

Verdict = Literal["supported", "contradicted", "not_enough_info"]
MAX_REASON = 300  # "one line"; a bound keeps a runaway small model from writing on


class VerifyAnswer(BaseModel):
    """The model's answer about one sentence."""

    model_config = ConfigDict(extra="forbid")
    verdict: Verdict
    reason: str = Field(min_length=1, max_length=MAX_REASON)


# --- what is asked -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One sentence to check, placed as the gate places a violation, and the facts it cites."""

    section: str
    paragraph: int
    sentence: int
    text: str
    facts: tuple[Fact, ...]

    @property
    def target(self) -> str:
        """The call's name in its label and recording (``verify-market.1.0-1.json``)."""
        return f"{self.section}.{self.paragraph}.{self.sentence}"

    @property
    def cites(self) -> str:
        return ", ".join(f.id for f in self.facts)

    def where(self) -> str:
        return f"{self.section} paragraph {self.paragraph + 1} sentence {self.sentence + 1}"


def checks(memo: Memo, factset: FactSet) -> list[Check]:
    """Every sentence that cites a fact of the ledger, in memo order, with those facts. The
    key-figures rows are not checked: each is a figure of the bottom line (checked there) beside
    its fact's own statement. A citation the ledger does not hold is the gate's
    (``unknown_citation``); the sentence is checked against the facts it cites that exist."""
    facts = factset.by_id()
    found = []
    for section in memo.sections:
        if section.key == KEY_FIGURES_SECTION:
            continue
        for p, paragraph in enumerate(section.paragraphs):
            for s, sentence in enumerate(paragraph.sentences):
                cited = tuple(facts[c] for c in dict.fromkeys(sentence.cites) if c in facts)
                if cited:
                    found.append(Check(section.key, p, s, sentence.text, cited))
    return found


# --- what came back ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """What the check of one sentence came to. ``verdict`` is None when there is none: the
    model's answer was unusable (``asked``), or the call was never made (the run's budget)."""

    check: Check
    verdict: Verdict | None
    reason: str
    call: CallRecord | None = None
    asked: bool = True


def judge(check: Check, result: CallResult[VerifyAnswer]) -> Judgement:
    """The model's answer as a judgement, its reason on one line, and the call as the manifest
    lists it (outcome "ok" when the sentence is supported, "rejected" when it is not)."""
    answer = result.parsed
    reason = " ".join(answer.reason.split()) or "no reason given"
    call = CallRecord(
        stage="verify",
        target=check.target,
        attempt=1,
        request_key=result.request_key,
        usage=result.usage,
        outcome="ok" if answer.verdict == "supported" else "rejected",
        cached=result.cached,
        wire_format=result.wire_format,
        reasks=result.reasks,
    )
    return Judgement(check, answer.verdict, reason, call)


def _cites(check: Check, one: str, more: str) -> str:
    """The cited facts as the subject of a verb: 'F1 contradicts', 'F1, F2 contradict'."""
    return f"{check.cites} {one if len(check.facts) == 1 else more}"


def _comment(
    check: Check, kind: Literal["model_contradicted", "model_unverified"], message: str
) -> Comment:
    return Comment(
        section=check.section, paragraph=check.paragraph, sentence=check.sentence, kind=kind,
        token=check.cites, message=message, text=check.text,
    )  # fmt: skip


def findings(
    judgements: Sequence[Judgement], mode: VerifyMode
) -> tuple[list[Violation], list[Comment]]:
    """Violations (``gate``: a contradicted sentence) and comments (the rest that the model did
    not find supported). Judgements of calls never made are the caller's warning, not a comment."""
    violations: list[Violation] = []
    comments: list[Comment] = []
    for judgement in judgements:
        check = judgement.check
        if judgement.verdict == "contradicted":
            message = (
                f"the model found that {_cites(check, 'contradicts', 'contradict')} this "
                f"sentence: {judgement.reason}"
            )
            if mode == "gate":
                violations.append(
                    Violation(
                        section=check.section,
                        paragraph=check.paragraph,
                        sentence=check.sentence,
                        kind="model_contradicted",
                        token=check.cites,
                        message=message,
                        text=check.text,
                    )
                )
            else:
                comments.append(_comment(check, "model_contradicted", message))
        elif judgement.verdict == "not_enough_info":
            message = (
                f"the model found that {_cites(check, 'does', 'do')} not say enough to support "
                f"this sentence: {judgement.reason}"
            )
            comments.append(_comment(check, "model_unverified", message))
        elif judgement.verdict is None and judgement.asked:
            message = (
                f"the model gave no usable answer ({judgement.reason}), so this sentence is "
                f"unverified: check it against {check.cites} yourself"
            )
            comments.append(_comment(check, "model_unverified", message))
    return violations, comments


@dataclass
class Verification:
    """The model check of a memo: its findings, its warnings and its calls."""

    mode: VerifyMode
    judgements: list[Judgement] = field(default_factory=list)
    unchecked: list[Check] = field(default_factory=list)  # past max_verify_sentences
    limit: int = 0
    budget_note: str = ""  # why calls were not made, when the run's budget stopped them

    @property
    def calls(self) -> list[CallRecord]:
        return [j.call for j in self.judgements if j.call is not None]

    @property
    def warnings(self) -> list[str]:
        """For report.json's warnings (``models.MODEL_CHECK_WARNING`` first, so report.md lists
        them apart from the sources' notes)."""
        out = []
        for judgement in self.judgements:
            if judgement.verdict is None and judgement.asked:
                out.append(
                    f"{MODEL_CHECK_WARNING}the answer on {judgement.check.where()} was unusable "
                    f"({judgement.reason}); the sentence is left unverified"
                )
        stopped = [j.check for j in self.judgements if not j.asked]
        if stopped:
            out.append(
                f"{MODEL_CHECK_WARNING}{len(stopped)} sentence(s) citing facts were not checked, "
                f"from {stopped[0].where()} on, because the run reached its budget "
                f"({self.budget_note}): raise the limit or pass --yes to check them"
            )
        if self.unchecked:
            out.append(
                f"{MODEL_CHECK_WARNING}{len(self.unchecked)} sentence(s) citing facts were not "
                f"checked, from {self.unchecked[0].where()} on: the check reads at most "
                f"max_verify_sentences ({self.limit}); raise --max-verify-sentences to check them"
            )
        return out

    def summary(self) -> str:
        """One line for the progress display: how many sentences came to what."""
        counts: dict[str, int] = {}
        for judgement in self.judgements:
            if judgement.asked:
                name = judgement.verdict or "unusable"
                counts[name] = counts.get(name, 0) + 1
        asked = sum(counts.values())
        said = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if n)
        return f"{asked} checked" + (f": {said}" if said else "")


def with_verification(report: Report, verification: Verification, memo: Memo) -> Report:
    """The gate's report with the model check's violations, comments and warnings, each list in
    memo order; the gate fails when a violation is added (``gate``)."""
    violations_found, comments_found = findings(verification.judgements, verification.mode)
    order = {section.key: i for i, section in enumerate(memo.sections)}

    def place(item: Violation | Comment) -> tuple[int, int, int]:
        return (order.get(item.section, len(order)), item.paragraph, item.sentence)

    violations = sorted([*report.violations, *violations_found], key=place)
    comments = sorted([*report.comments, *comments_found], key=place)
    return report.model_copy(
        update={
            "ok": not violations,
            "violations": violations,
            "comments": comments,
            "warnings": [*report.warnings, *verification.warnings],
        }
    )


# --- the calls -----------------------------------------------------------------------------------

EVENT_KEY = "verify"  # the one progress item of the stage


def verify_memo(
    llm: LLM,
    factset: FactSet,
    todo: Sequence[Check],
    mode: VerifyMode,
    limit: int,
    concurrency: int = DEFAULTS.concurrency,
    on_event: OnEvent = no_event,
) -> Verification:
    """Ask the model about the first ``limit`` of ``todo`` (see :func:`checks`), ``concurrency``
    at a time. An unusable answer leaves its sentence unverified; a spent budget leaves the
    sentences not yet asked unchecked; both are warnings. A failing service, an interrupt or a
    missing recording stops the run, as in every stage."""
    asked, over = list(todo[:limit]), list(todo[limit:])
    verification = Verification(mode=mode, unchecked=over, limit=limit)
    lock = threading.Lock()
    done = [0]

    def work(check: Check) -> Judgement:
        messages = verify_messages(factset, check.text, check.facts)
        label = CallLabel(factset.ticker, "verify", check.target, 1)
        try:
            judgement = judge(check, llm.call(messages, VerifyAnswer, label))
        except AnswerShapeError:
            judgement = Judgement(check, None, "not JSON for the schema, also after re-asking")
        except BudgetExceededError as exc:
            with lock:
                verification.budget_note = verification.budget_note or str(exc).split(":")[0]
            judgement = Judgement(check, None, "not asked", asked=False)
        with lock:
            done[0] += 1
            count = done[0]
        on_event(Event(EVENT_KEY, Status.CHECKING, count, len(asked)))
        return judgement

    verification.judgements = map_concurrently(work, asked, concurrency)
    on_event(Event(EVENT_KEY, Status.CHECKED, note=verification.summary()))
    return verification
