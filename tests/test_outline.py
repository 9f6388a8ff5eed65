"""The outline: the company-neutral default, --outline and a bundle's own outline, and every way an
outline can be bad. A bad outline is refused before anything else happens: exit 2, one line naming
the file and the problem, no traceback, no model call, nothing written to --out."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, run_cli
from stub_openai import Reply, authored_script, completion, serve, wants_stance
from test_bad_input import assert_refused, diff, snapshot
from thesisgen import run
from thesisgen.errors import UsageError
from thesisgen.progress import PlainProgress
from thesisgen.prompts import MAX_SECTIONS, TOPICS, load_outline
from thesisgen.resources import Bundle

DEFAULT = ROOT / "templates" / "outline.yaml"

# Words of the bundled companies and their sector: none may appear in the default outline or the
# prompt templates, which serve every ticker.
COMPANY_WORDS = re.compile(
    r"\b(?:American Resources|ReElement|AREC|POSCO|PKX|rare[- ]earths?|magnets?|neodymium|"
    r"dysprosium|EVs?|electric vehicles?|Kestrel|KSTL|pumps?)\b",
    re.IGNORECASE,
)


def _section(key: str, stance: bool = False, **extra: Any) -> dict[str, Any]:
    return {"key": key, "heading": key.title(), "guidance": f"Write about {key}.", **extra} | (
        {"stance": True} if stance else {}
    )


def _outline(*sections: dict[str, Any], **top: Any) -> str:
    return yaml.safe_dump({"sections": list(sections), **top}, sort_keys=False)


GOOD = [_section("bottom_line", stance=True), _section("market", topics=["market"])]


# --- the default -------------------------------------------------------------------------------


def test_default_outline_is_company_neutral_and_opens_with_the_stance() -> None:
    outline = load_outline()
    keys = [s.key for s in outline.sections]
    assert keys == [
        "bottom_line", "business", "market", "financials", "catalysts", "risks", "change_view",
    ]  # fmt: skip
    assert outline.sections[0].stance and not any(s.stance for s in outline.sections[1:])
    financials = outline.sections[3]
    assert financials.heading == "Financials and valuation"
    assert set(financials.requires) == {"financials", "valuation"}
    assert outline.sections[0].topics == [], "the bottom line draws on every topic"
    text = DEFAULT.read_text()
    assert not COMPANY_WORDS.search(text), COMPANY_WORDS.search(text)


@pytest.mark.parametrize("path", sorted((ROOT / "prompts").glob("*.j2")), ids=lambda p: p.name)
def test_prompt_templates_are_company_neutral(path: Path) -> None:
    match = COMPANY_WORDS.search(path.read_text())
    assert match is None, f"{path.name} mentions {match.group(0)!r}"


def test_company_word_check_catches_what_it_should() -> None:
    """The check above means something: the old, company-specific guidance fails it."""
    old = "Describe American Resources Corporation, its subsidiary ReElement Technologies"
    assert COMPANY_WORDS.search(old)
    assert COMPANY_WORDS.search("EV motors") and COMPANY_WORDS.search("rare-earth supply")
    assert not COMPANY_WORDS.search("every event, evidence and revenue")


# --- bad outlines, through the CLI ---------------------------------------------------------------

Make = Callable[[Path], Path]


def _file(text: str | bytes, name: str = "outline.yaml") -> Make:
    def make(work: Path) -> Path:
        path = work / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return make


def _folder(work: Path) -> Path:
    (work / "outlines").mkdir()
    return work / "outlines"


BAD: list[tuple[str, Make, tuple[str, ...]]] = [
    ("missing", lambda work: work / "nope.yaml", ("nope.yaml", "does not exist")),
    ("folder", _folder, ("outlines", "is a folder")),
    ("too-big", _file("# " + "x" * 70_000 + "\n" + _outline(*GOOD)), ("over 64 KB",)),
    ("not-utf8", _file(b"sections:\n  - key: caf\xe9\n"), ("not UTF-8",)),
    ("not-yaml", _file("sections: [\n  key: : x\n"), ("not valid YAML", "line")),
    ("nested-too-deeply", _file("sections: " + "[" * 30_000), ("not valid YAML",)),
    ("empty", _file(""), ("is empty",)),
    ("a-list", _file("- key: a\n- key: b\n"), ("not a YAML mapping",)),
    ("unknown-top-key", _file(_outline(*GOOD, colour="blue")), ("unknown key 'colour'",)),
    (
        "unknown-section-key",
        _file(_outline(GOOD[0], {**GOOD[1], "titel": "Market"})),
        ("unknown key 'titel'", "sections[1]"),
    ),
    ("no-sections", _file(_outline()), ("has no sections",)),
    ("sections-null", _file("sections:\n"), ("sections",)),
    (
        "duplicate-keys",
        _file(_outline(*GOOD, _section("market"))),
        ("'market'", "two sections"),
    ),
    ("key-upper-case", _file(_outline(GOOD[0], _section("Market"))), ("bad key 'Market'",)),
    ("key-with-space", _file(_outline(GOOD[0], _section("the market"))), ("bad key",)),
    ("key-too-long", _file(_outline(GOOD[0], _section("m" * 33))), ("bad key",)),
    ("key-missing", _file(_outline(GOOD[0], {"heading": "H", "guidance": "G"})), ("lacks",)),
    ("no-stance", _file(_outline(_section("a"), _section("b"))), ("no section has 'stance",)),
    (
        "two-stances",
        _file(_outline(_section("a", stance=True), _section("b", stance=True))),
        ("2 sections have 'stance: true'",),
    ),
    (
        "stance-not-first",
        _file(_outline(_section("a"), _section("b", stance=True))),
        ("'b' must come first",),
    ),
    (
        "too-many-sections",
        _file(_outline(GOOD[0], *(_section(f"s{i}") for i in range(MAX_SECTIONS)))),
        (f"{MAX_SECTIONS + 1} sections", f"limit of {MAX_SECTIONS}"),
    ),
    (
        "empty-heading",
        _file(_outline(GOOD[0], {**GOOD[1], "heading": "   "})),
        ("empty sections[1].heading",),
    ),
    (
        "empty-guidance",
        _file(_outline({**GOOD[0], "guidance": ""}, GOOD[1])),
        ("empty sections[0].guidance",),
    ),
    (
        "guidance-too-long",
        _file(_outline(GOOD[0], {**GOOD[1], "guidance": "word " * 500})),
        ("sections[1].guidance", "limit of 2000"),
    ),
    (
        "unknown-topic",
        _file(_outline(GOOD[0], {**GOOD[1], "topics": ["finance"]})),
        ("unknown topic 'finance'", "financials"),
    ),
    (
        "unknown-required-topic",
        _file(_outline(GOOD[0], {**GOOD[1], "requires": ["cashflow"]})),
        ("unknown topic 'cashflow'", "sections[1].requires[0]"),
    ),
    ("stance-not-bool", _file(_outline({**GOOD[0], "stance": "first"}, GOOD[1])), ("stance",)),
]


@pytest.mark.parametrize(("make", "needles"), [(m, n) for _, m, n in BAD], ids=[b[0] for b in BAD])
def test_bad_outline_is_refused_before_anything_happens(
    make: Make, needles: tuple[str, ...], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = make(work)
    out = work / "out"
    before = snapshot(work)
    result = run_cli("draft", "--ticker", "AREC", "--outline", path, "--out", out, cwd=work)
    line = assert_refused(result, 2, ("outline", path.name, *needles))
    assert line.endswith("fix the outline"), line
    assert not diff(before, snapshot(work)), diff(before, snapshot(work))
    assert not out.exists()


@pytest.mark.enable_socket
@pytest.mark.parametrize("command", ["draft", "record"])
def test_bad_outline_reaches_no_model(command: str, tmp_path: Path) -> None:
    """Live runs (draft and record) refuse a bad --outline before their first model call."""
    work = tmp_path / "work"
    work.mkdir()
    path = _file(_outline(_section("a"), _section("b", stance=True)))(work)
    out = work / "out"
    with serve(authored_script(ROOT / "fixtures" / "AREC" / "authored")) as server:
        args = ["--recordings", work / "rec"] if command == "record" else []
        result = run_cli(
            command, "--ticker", "AREC", "--outline", path, "--out", out, *args,
            "--base-url", server.base_url, "--model", "handwritten-fixture", cwd=work,
        )  # fmt: skip
        requests = len(server.requests)
    assert_refused(result, 2, ("outline.yaml", "must come first"))
    assert requests == 0
    assert not out.exists() and not (work / "rec").exists()


def test_every_topic_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "o.yaml"
    path.write_text(_outline({**GOOD[0], "topics": list(TOPICS), "requires": list(TOPICS)}))
    assert load_outline(path).sections[0].topics == list(TOPICS)


# --- good outlines: --outline and the bundle's own -----------------------------------------------


def _generic_model(label: str, body: dict[str, Any]) -> Reply:
    """Facts from the authored AREC answers; every section one sentence citing F2."""
    _ticker, stage, _target, _attempt = label.split("/")
    if stage == "facts":
        return authored_script(ROOT / "fixtures" / "AREC" / "authored")(label, body)
    sentence = {"text": "China controls roughly 80% of processing.", "cites": ["F2"]}
    answer: dict[str, Any] = {"paragraphs": [{"sentences": [{**sentence, "calculations": []}]}]}
    if wants_stance(body):
        answer["stance"] = "not rated"
    return Reply(200, completion(body["model"], json.dumps(answer), label, 100))


@pytest.mark.enable_socket
def test_outline_flag_drafts_its_own_sections(tmp_path: Path) -> None:
    path = tmp_path / "short.yaml"
    path.write_text(_outline(*GOOD, _section("extra_notes", topics=["risk"])))
    with serve(_generic_model) as server:
        result = run_cli(
            "draft", "--ticker", "AREC", "--outline", path, "--out", tmp_path / "o",
            "--base-url", server.base_url, "--model", "m", cwd=tmp_path,
        )  # fmt: skip
        labels = [r["label"] for r in server.requests]
    assert result.code == 0, result.stderr
    draft = json.loads((tmp_path / "o" / "draft.json").read_text())
    assert [s["key"] for s in draft["sections"]] == ["bottom_line", "market", "extra_notes"]
    assert draft["stance"] == "not rated"
    assert sorted(x.split("/")[2] for x in labels if "/draft/" in x) == [
        "bottom_line", "extra_notes", "market",
    ]  # fmt: skip
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert set(manifest["section_facts"]) == {"bottom_line", "market", "extra_notes"}


@pytest.mark.enable_socket
def test_bundle_outline_is_used_and_flag_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle's outline.yaml replaces the default; --outline replaces both. Both are checked
    before the first model call."""
    bundled = tmp_path / "bundle-outline.yaml"
    bundled.write_text(_outline(_section("a"), _section("b", stance=True)))  # bad: stance second
    monkeypatch.setattr(Bundle, "outline_file", property(lambda self: bundled))
    with serve(_generic_model) as server:

        def draft(**extra: Any) -> run.DraftOutcome:
            request = run.DraftRequest(
                ticker="AREC", out=tmp_path / "o", force=True,
                flags={"base_url": server.base_url, "model": "m"}, **extra,
            )  # fmt: skip
            return run.draft(request, PlainProgress(io.StringIO()))

        with pytest.raises(UsageError, match=r"bundle-outline\.yaml .*must come first"):
            draft()
        assert server.requests == []
        own = tmp_path / "own.yaml"
        own.write_text(_outline(*GOOD))
        outcome = draft(outline=own)
    assert outcome.report.ok
    assert set(outcome.manifest.section_facts) == {"bottom_line", "market"}
