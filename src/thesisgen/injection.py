"""Find the sentences of a source that speak to the model instead of the reader (prompt injection).

A small scored classifier: each sentence is checked for several signals, each with a weight, and
is flagged when the sum reaches :data:`THRESHOLD`. One signal is not always enough on its own: a
rating ("a strong buy", "a $50 target") is ordinary in a source, an order to analysts ("analysts
should treat ...") is ordinary in a disclaimer; together they are an attempt to steer the memo. A
sentence that addresses the model, asks it to ignore its instructions or carries prompt-structure
tokens is flagged by itself. A rating a named third party gives ("Morgan Stanley rates it
overweight") counts against a flag: it is a fact to keep, attributed.

The detector looks at a folded copy of each sentence (NFKC, so full-width letters read as ASCII;
invisible characters, curly quotes and common Cyrillic look-alikes folded), never at the text the
offsets refer to.

Neighbour rule, for payloads split from their orders: when a sentence is flagged, the sentence
after it is tainted too (the figure usually sits next to the order); when the order points forward
(it ends with ':' or says 'below', 'following', 'next paragraph', or it is a line that does not
end like a sentence: a heading, a role tag such as ``<|im_start|>system`` on its own line),
everything up to the end of the next paragraph is tainted; when it points back ('this figure',
'the above'), the sentence before it is tainted. Text after a token that closes our data tags
(``</source>``, ``<|im_end|>``) is tainted up to the next ``<source`` or the end, since only an
attacker writes a close tag into a document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .sentences import Sentence, segment

THRESHOLD = 1.0

# --- folding ------------------------------------------------------------------------------------

# Format characters (zero-width space and joiners, BOM, bidi controls, Unicode tag characters,
# soft hyphen, ...) are category Cf; these others draw nothing either.
_INVISIBLE_OTHER = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)


def is_invisible(ch: str) -> bool:
    """True for characters that render as nothing and can hide words from a reader."""
    return (
        unicodedata.category(ch) == "Cf"
        or ch in _INVISIBLE_OTHER
        or 0xE0100 <= ord(ch) <= 0xE01EF  # variation selectors supplement
    )


def remove_invisible(text: str) -> str:
    if text.isascii():
        return text
    return "".join(ch for ch in text if not is_invisible(ch))


_HOMOGLYPHS = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0410\u0412\u0415\u041a\u041c\u041d"
    "\u041e\u0420\u0421\u0422\u0425\u0406\u2018\u2019\u201c\u201d",
    "aeopcyxijABEKMHOPCTXI''\"\"",
)


def fold_for_detection(text: str) -> str:
    """The copy the detector reads: invisible characters out, NFKC, look-alikes to ASCII."""
    return unicodedata.normalize("NFKC", remove_invisible(text)).translate(_HOMOGLYPHS)


# --- signals ------------------------------------------------------------------------------------

_MODEL = (
    r"(?:ai|a\.i\.|artificial\s+intelligence|assistants?|llms?|(?:large\s+)?language\s+models?"
    r"|chat\s*bots?|bots?|gpt|chatgpt|claude|gemini|copilot|models?|agents?|summari[sz]ers?)"
)
# Automated readers as a group: "AI systems", "summarization systems", "machine readers".
_READER = (
    r"(?:(?:ai|a\.i\.|automated|machine|llm|gpt|summari[sz]ation|language[- ]model)"
    r"(?:[- ](?:based|powered|driven))?\s+(?:systems?|tools?|readers?|pipelines?|agents?"
    r"|assistants?|models?|summari[sz]ers?|crawlers?|bots?|services?)"
    rf"|machine\s+readers?|{_MODEL})"
)
# Names that are only ever a model (not "model portfolio", "assistant treasurer").
_AI_ONLY = r"(?:ai|a\.i\.|llms?|gpt|chatgpt|claude|gemini|copilot|chat\s*bots?|assistant)"
_OUTPUT = (
    r"(?:summar(?:y|ies)|memos?|answers?|responses?|outputs?|write-?ups?|analys[ie]s|theses"
    r"|thesis|reports?|notes?|coverage|research|recommendations?|ratings?|valuations?)"
)
_DOCUMENT = (
    r"(?:page|document|article|text|report|file|source|content|note|release|filing|passage"
    r"|site|post|company|stock|shares?|issuer)"
)
_VERB = (
    r"(?:rate|treat|recommend|describe|state|say|write|present|characteri[sz]e|classify|label"
    r"|call|conclude|omit|exclude|ignore|mention|emphasi[sz]e|highlight|assign|upgrade|downgrade"
    r"|portray|frame|report|list|give|use|cite|repeat|include|carry|reflect|show|adopt|assume"
    r"|quote|value|put|set|feature|contain|read|express|endorse)"
)
_MODAL = (
    r"(?:should|must|shall|will|need\s+to|needs\s+to|have\s+to|has\s+to|are\s+to|is\s+to"
    r"|ought\s+to|(?:are|is)\s+(?:required|instructed|asked|expected|supposed|meant)\s+to)"
)
_ADVERB = r"(?:\s+(?:\w+ly|also|now|always|then|instead))?"
_WRITE = r"(?:write|writ(?:es|ing)|draft\w*|summari[sz]\w*|prepar\w+|generat\w+|produc\w+|compil\w+|compos\w+)"


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    pattern: re.Pattern[str]


def _signal(name: str, weight: float, *patterns: str, flags: int = re.IGNORECASE) -> Signal:
    return Signal(name, weight, re.compile("|".join(f"(?:{p})" for p in patterns), flags))


SIGNALS: tuple[Signal, ...] = (
    # Alternatives that end alike share one copy of that end: the same sentences match, and the
    # pattern compiles in about half the time (every command that reads a source compiles it).
    _signal(
        "addresses the model",
        2.0,
        r"(?:"
        r"\b(?:note|message|instructions?|attention|reminder|warning|memo|directive|request)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+)?"
        r"|\bif\s+you(?:\s+are|'re|\s+were|\s+happen\s+to\s+be)\s+(?:an?\s+|the\s+)?(?:automated\s+|ai\s+)?"
        r"|^\W*(?:to|for)\s+(?:the|any|all|every|each)\s+"
        r"|\binstructions?\b[^.\n]{0,30}\b(?:is|are)\s+(?:meant\s+|intended\s+)?for\s+(?:the\s+|any\s+|all\s+)?"
        r"|\b(?:dear|attention|hey|hello|hi)\s*,?\s+"
        rf"){_READER}\b",
        rf"^\W*{_AI_ONLY}\s+(?:reviewers?|analysts?|writers?|drafters?|editors?|researchers?|users?)\s*:",
        rf"\b{_READER}\s+(?:instructions?|directives?|notes?|notice|guidance|orders?)\s*:",
        rf"\b(?:ai|llm|gpt|chatbot|language\s+model|automated|machine)\w*(?:\s+\w+)?\s+(?:that\s+(?:is|are)\s+)?(?:reading|processing|summari[sz]ing|analy[sz]ing|parsing|ingesting|reviewing|crawling|indexing)\s+(?:this|the)\s+{_DOCUMENT}\b",
        rf"\b(?:any|every|all)\s+{_READER}\s+(?:that\s+|which\s+|who\s+)?(?:reads?|process(?:es)?|summari[sz]es?|analy[sz]es?)\b",
        r"\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:ai|assistant|language\s+model|llm|chatbot|model)\b",
        r"\bwho(?:ever)?\s+(?:is\s+)?(?:summari[sz]|process|pars|ingest)\w*\s+this\s+(?:document|page|article|text|report|file|source)",
        rf"^\W*{_READER}\s*(?::|[:,]\s*(?:you|please|ignore|rate|note|the|treat|report|say|state|use|remember)\b)",
        rf"[\"'(\[]\s*{_AI_ONLY}\s*[:,]",
        rf"^\W*{_AI_ONLY}\s*,\s*(?:please\s+)?{_VERB}\b",
    ),
    _signal(
        "an automated reader is told what to do",
        1.0,
        rf"\b{_READER}(?:\s+[\w'-]+){{0,3}}?\s+{_MODAL}{_ADVERB}\s+(?:not\s+)?{_VERB}\b",
    ),
    _signal(
        "asks to ignore or override instructions",
        2.0,
        r"\b(?:ignore|disregard|forget|override|overrule|bypass|skip|set\s+aside|discard)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+|of\s+)*(?:previous|prior|above|earlier|preceding|original|initial|system|other|existing|old\s+)?\s*(?:instructions?|prompts?|directives)\b",
        r"\b(?:ignore|disregard|forget|override|overrule|bypass|set\s+aside|discard)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+|of\s+)*(?:previous|prior|above|earlier|preceding|original|initial|system|existing)\s+(?:rules|guidelines|directions|guidance|constraints|context|orders|figures?|numbers?|data|facts?|text|statements?)\b",
        r"\b(?:ignore|disregard|forget|discard)\s+(?:all\s+|any\s+|the\s+)?(?:figures?|numbers?|data|facts?|text|statements?|content|everything|anything)\s+(?:above|before|earlier|previously|stated|you\s+(?:read|saw|were\s+told))\b",
        r"\b(?:ignore|disregard|forget|override|bypass|discard)\s+your\s+(?:rules|guidelines|guidance|constraints|training|programming|instructions|system\s+prompt|policies)\b",
        r"\b(?:ignore|disregard|forget|override|bypass|discard|turn\s+off)\s+(?:all\s+|any\s+|the\s+|your\s+)*(?:safety|content|security|ethical|moderation|guard\s*rail)\s*(?:rules|guidelines|policies|filters|checks|instructions|s\b)",
        r"\b(?:ignore|disregard|forget|discard)\s+(?:everything|anything|all|what(?:ever)?)\s+(?:(?:that\s+)?(?:came|comes|was|is|you've|you\s+have|you\s+were)\s+)?(?:above|before|else|prior|previously|earlier|said|stated|written|told)\b",
        r"\b(?:new|updated|revised|real|actual|additional|hidden)\s+(?:system\s+)?instructions?\s*(?::|follow|are|for)",
        r"\bsystem\s+prompt\b",
        r"\byou\s+are\s+now\b",
        r"\bfrom\s+now\s+on\s*,?\s+(?:you|rate|treat|describe|only)\b",
        r"\b(?:ignor|n'?ignor)\w*\s+(?:toutes?\s+)?(?:les\s+)?(?:consignes|instructions)\s+pr[ée]c[ée]dentes",
        r"\bignorier\w*\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen)\s+(?:anweisungen|instruktionen)",
        r"\bignor[ae]\w*\s+(?:todas\s+)?(?:las\s+)?instrucciones\s+(?:anteriores|previas)",
        r"(?:忽略|无视|忽视|無視).{0,12}(?:指令|指示|说明|命令)",
        r"(?:以前|前)の指示を無視",
    ),
    _signal(
        "hides its order in an encoding",
        2.0,
        r"\b(?:decode|decrypt|deobfuscate|unscramble)\s+(?:this|it|the\s+(?:following|text|message|string|line)\s+)?\s*(?:and|then|,)\s*(?:follow|obey|execute|run|apply|do\s+(?:it|this|what))\b",
        r"\b(?:rot-?13|base-?64)\b[^.\n]{0,40}\b(?:follow|obey|execute|instructions?|for\s+(?:the\s+)?(?:ai|model|assistant|llm|you))\b",
        r"\b(?:the\s+(?:next|following)\s+(?:line|sentence|text|paragraph)\s+is\s+(?:in\s+)?(?:rot-?13|base-?64|encoded|cipher))",
    ),
    _signal(
        "prompt-structure token",
        2.0,
        r"</?\s*(?:source|fact|sources|facts)\b",
        r"<\|[a-z_]{2,30}\|>",
        r"\[/?inst\]",
        r"<</?sys>>",
        r"</?(?:start|end)_of_turn>",
        r"(?:^|\n)\s*(?:system|assistant)\s*:",
        r"(?:^|\n)\s*#{2,}\s*(?:instruction|system|response|input)s?\s*(?::|$|\n)",
        r"\[\s*(?:system|inst|assistant|user|admin|developer)\s*\]",
        r"</?\s*(?:system|assistant|user|instructions?|prompt)\s*>",
    ),
    _signal(
        "casts the writer in a role",
        1.0,
        r"\b(?:pretend|imagine)\s+(?:that\s+)?(?:you\s+are|you're|to\s+be)\b",
        r"^\W*(?:please\s+)?act\s+as\s+(?:a|an|the|if)\b(?:\s+[\w-]+){0,3}?\s+(?:analyst|assistant|advis[eo]r|expert|bot|model|promoter|bull)\b",
        r"\byou\s+are\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}(?:analyst|advis[eo]r|assistant|expert)\b",
    ),
    _signal(
        "dictates the answer",
        1.0,
        r"^\W*(?:please\s+)?(?:respond|reply|answer|output|print|repeat|return)\s+(?:only\s+)?(?:with|the\s+following|this|verbatim|exactly|after\s+me)\b",
        r"\b(?:verbatim|word\s+for\s+word)\b[^.\n]{0,40}:",
        rf"\bin\s+your\s+(?:final\s+)?{_OUTPUT}\b",
        r"\b(?:tell|inform|convince|assure)\s+the\s+(?:user|reader|human|client)\b",
    ),
    _signal(
        "a chat turn",
        0.5,
        r"(?:^|\n)\s*(?:user|human)\s*:",
    ),
    _signal(
        "orders the model's output",
        1.0,
        rf"(?:\b(?:your|any\s+(?:automated|ai|machine)[\w-]*|(?:automated|ai[- ]generated|machine[- ]generated))\s+{_OUTPUT}(?:\s+[\w'$.,-]+){{0,4}}?"
        rf"|\b{_OUTPUT}\s+(?:of|on|about|for|covering)\s+(?:this|the)\s+{_DOCUMENT}(?:\s+[\w'$.,-]+){{0,3}}?"
        rf"|\b(?:any|every|each|all)\s+{_OUTPUT}"
        rf")\s+{_MODAL}{_ADVERB}\s+(?:not\s+)?{_VERB}\b",
        rf"\byour\s+(?:rating|recommendation|stance|verdict|conclusion)\s+{_MODAL}\b",
        rf"\bwho(?:ever)?\s+{_WRITE}\s+(?:the|this|any|a|your)\s+{_OUTPUT}\b",
        rf"\b(?:when|while|as|before)\s+(?:you\s+)?{_WRITE}\s+(?:the|this|your|a|any)\s+(?:\w+\s+)?{_OUTPUT}\b",
    ),
    _signal(
        "orders what the text it feeds must say",
        0.6,
        rf"\bthe\s+{_OUTPUT}\s+{_MODAL}{_ADVERB}\s+(?:not\s+)?{_VERB}\b",
    ),
    _signal(
        "orders the reader",
        0.6,
        rf"\b(?:you|analysts?|investors?|readers?|reviewers?|the\s+(?:reader|analyst|reviewer)){_ADVERB}\s+{_MODAL}{_ADVERB}\s+(?:not\s+)?{_VERB}\b",
    ),
    # "You" told what to write is the model being told, in a document that reaches it.
    _signal(
        "tells you what to write",
        0.5,
        rf"\byou{_ADVERB}\s+{_MODAL}{_ADVERB}\s+(?:not\s+)?(?:rate|recommend|describe|state|say|write|present|call|conclude|report|mention|omit|label|classify|portray|characteri[sz]e|emphasi[sz]e|highlight|use|carry)\b",
    ),
    # Orders at the start of a sentence (or of a clause after "When ..., "); the ticker must be
    # in capitals ("Rate AREC a BUY", not "Rate cuts lifted the stock").
    _signal(
        "imperative to the writer",
        1.0,
        r"^\W*(?:please\s+)?(?:now\s+)?(?:rate|recommend|upgrade|downgrade|classify|label)\s+(?:it|this|them|the\s+(?:stock|company|shares?|name)|(?-i:[A-Z]{2,6}))\s+(?:a|an|as|to|at)\b",
        r"^\W*(?:please\s+)?(?:state|say|write|conclude|claim|assert)\s+that\b",
        r"^\W*please\s+(?:describe|present|portray|characteri[sz]e|treat|frame)\s+",
        r"^\W*(?:make\s+sure|be\s+sure|ensure|remember|always)\s+(?:to\s+|that\s+)?(?:you\s+)?(?:rate|state|say|describe|call|treat|recommend|present)\b",
        r",\s*(?:please\s+)?(?:say|state|write|report|claim|assert)\s+(?:that\s+)?(?:the\s+|its\s+)?(?:revenue|sales|earnings|profit|income|value|price|target|shares?|stock|company|rating)\b",
    ),
    _signal(
        "frames the subject for the writer",
        0.6,
        r"^\W*(?:please\s+)?(?:describe|present|portray|characteri[sz]e|treat|frame)\s+(?:it|this|them|the\s+\w+|(?-i:[A-Z][\w&.-]*))\s+as\b",
    ),
    _signal(
        "hides something from the reader",
        1.0,
        r"\b(?:do\s+not|don't|never|avoid|refrain\s+from|must\s+not|should\s+not|shall\s+not)\s+(?:mention|mentioning|disclos\w*|discuss\w*|cit\w+|reveal\w*|report\w*|includ\w*|flag\w*|note|noting|highlight\w*|bring\s+up)\s+(?:any\s+|the\s+|these\s+|its\s+|their\s+)?(?:\w+\s+)?(?:risks?|downsides?|concerns?|losses|weakness\w*|negatives?|caveats?|lawsuits?|litigation|debts?|problems?|issues|this\s+(?:note|instruction|sentence|paragraph))\b",
        r"^\W*(?:please\s+)?(?:do\s+not|don't|never)\s+(?:mention|disclose|discuss|reveal|cite|report|flag|highlight|bring\s+up)\b",
        r"^\W*(?:omit|hide|suppress|leave\s+out|remove)\s+(?:any|all|the|every)\s+(?:\w+\s+)?(?:risks?|downsides?|concerns?|negatives?|caveats?|mention)",
    ),
    _signal(
        "rating or target",
        0.5,
        r"\bstrong\s+(?:buy|sell)\b",
        r"\b(?:buy|sell|hold)\s+rating\b",
        r"\b(?:a|an)\s+(?-i:BUY|SELL|Buy|Sell)\b",
        r"\b(?:rate|rating|rated|recommend\w*)\b[^.\n]{0,40}\b(?:buy|sell|outperform|overweight|underweight)\b",
        r"\bprice\s+(?:target|objective)\b|\btarget\s+price\b|\bfair\s+value\b",
        r"\b(?:worth|valued\s+at)\s+\$",
        r"\$\s?[\d.,]+\s*(?:[mb]n|billion|million|trillion|[bmk])?\s+(?:price\s+)?target\b",
        r"\b(?:outperform|overweight|top\s+pick|must[-\s]own|can't[-\s]miss|risk[-\s]free|guaranteed\s+returns?)\b",
    ),
    # A named party as the subject of a rating verb: "Morgan Stanley rates it overweight",
    # "according to Jefferies". Case matters here: the name is what makes it an attribution.
    _signal(
        "attributed to a named third party",
        -0.6,
        r"\b[A-Z][\w&.'-]*(?:\s+(?:&\s+)?[A-Z][\w&.'-]*){0,3}(?:'s)?\s+(?:analysts?\s+)?(?:rates|rated|reiterate[sd]?|maintains|maintained|upgraded|downgraded|initiated|assigns|assigned|sets|set|raised|cut|lowered|has|have|says|said|recommends|recommended|expects|sees|estimates|estimated)\b",
        r"\b(?:according\s+to|analysts?\s+at|per)\s+[A-Z]",
        flags=0,
    ),
)
_SECOND_PERSON = re.compile(r"\byou(?:r)?\b", re.IGNORECASE)
_FORWARD = re.compile(
    r":\s*$|\b(?:below|as\s+follows|the\s+following|follows|comes?\s+(?:later|next|after)"
    r"|later\s+(?:on|in\s+this)|further\s+(?:down|on)|next\s+(?:paragraph|sentence|section|line))\b",
    re.IGNORECASE,
)
_BACKWARD = re.compile(
    r"\b(?:th(?:is|at|ese|ose)\s+(?:figures?|numbers?|amounts?|values?|statements?|claims?|estimates?)"
    r"|the\s+(?:above|preceding|previous|prior)\b|(?:figures?|numbers?|statements?)\s+above)",
    re.IGNORECASE,
)
_CLOSERS = re.compile(
    r"<\s*/\s*(?:source|sources|fact|facts)\s*>|<\|(?:im_end|eot_id|endoftext)\|>", re.IGNORECASE
)
_OPENER = re.compile(r"<\s*source\b", re.IGNORECASE)
# How a sentence ends. A flagged line that does not end so points forward, to what comes under
# it: a heading, or a role tag such as "<|im_start|>system" on a line of its own; but not our own
# "<source ...>" tag, after which a new source's own text begins.
_ENDED = re.compile(r"[.!?\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*\s*$")


@dataclass(frozen=True)
class Verdict:
    """How a piece of text scored and which signals fired."""

    score: float
    signals: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return self.score >= THRESHOLD

    def why(self) -> str:
        return ", ".join(s for s in self.signals if not s.startswith("attributed"))


def score(text: str) -> Verdict:
    """Score one sentence (or a title): the sum of the weights of the signals it shows."""
    folded = fold_for_detection(text).strip()
    fired: list[Signal] = []
    for signal in SIGNALS:
        if signal.pattern.search(folded):
            fired.append(signal)
    if _SECOND_PERSON.search(folded):  # "you must ..." is never a third party's view
        fired = [s for s in fired if s.weight > 0]
    total = round(sum(s.weight for s in fired), 3)
    return Verdict(total, tuple(s.name for s in fired))


@dataclass(frozen=True)
class Finding:
    """A flagged sentence: where it is, its score and why."""

    start: int
    end: int
    score: float
    signals: tuple[str, ...]


@dataclass(frozen=True)
class Scan:
    """What the detector found in a text: flagged sentences, and the spans they taint."""

    findings: tuple[Finding, ...]
    tainted: tuple[tuple[int, int], ...]

    def why(self) -> str:
        """The signals that fired anywhere in the text, for a warning."""
        seen: dict[str, None] = {}
        for finding in self.findings:
            for name in finding.signals:
                if not name.startswith("attributed"):
                    seen.setdefault(name, None)
        return ", ".join(seen)


def scan(text: str, sentences: Sequence[Sentence] | None = None) -> Scan:
    """Flag the sentences of ``text`` and taint them and their neighbours (module docstring)."""
    sentences = segment(text) if sentences is None else sentences
    findings: list[Finding] = []
    spans: list[tuple[int, int]] = []
    for i, sentence in enumerate(sentences):
        verdict = score(sentence.text)
        if not verdict.flagged:
            continue
        findings.append(Finding(sentence.start, sentence.end, verdict.score, verdict.signals))
        spans.append((sentence.start, sentence.end))
        folded = fold_for_detection(sentence.text)
        if i + 1 < len(sentences):
            spans.append((sentences[i + 1].start, sentences[i + 1].end))
        heading = not _ENDED.search(folded) and not _OPENER.search(folded)
        if _FORWARD.search(folded) or heading:
            following = [s for s in sentences[i + 1 :] if s.paragraph <= sentence.paragraph + 1]
            if following:
                spans.append((sentence.start, following[-1].end))
        if i > 0 and _BACKWARD.search(folded):
            spans.append((sentences[i - 1].start, sentences[i - 1].end))
    same_length = _fold_in_place(text)
    for closer in _CLOSERS.finditer(same_length):
        opener = _OPENER.search(same_length, closer.end())
        spans.append((closer.start(), opener.start() if opener else len(text)))
    return Scan(tuple(findings), tuple(_merge(spans, text)))


def _fold_in_place(text: str) -> str:
    """NFKC character by character where that keeps one character ("\uff1c" to "<"), so
    offsets into the result are offsets into ``text``."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch) if not ch.isascii() else ch
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Overlapping spans, and spans apart by whitespace only, as one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
