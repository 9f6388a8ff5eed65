"""The wire-format table and the transport stacks: each format round-trips through the stub server
(asked for as the table says, its answer read as the table says), ``auto`` probes in the table's
order, and each mode of a run gets its transport stack from ``recording.transport_for``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import httpx2
import pytest
from pydantic import BaseModel

from conftest import AREC
from stub_openai import Reply, completion, serve
from thesisgen import config, wire
from thesisgen.errors import UsageError
from thesisgen.llm import LLM, LLMSettings, Mode, RetryPolicy
from thesisgen.recording import (
    CachingTransport,
    CallLabel,
    KeyingTransport,
    RecordingTransport,
    ReplayTransport,
    transport_for,
)

NAMES = list(wire.FORMATS)
LABEL = CallLabel("AREC", "verify", "market.1.0", 1)
ANSWER = {"verdict": "supported", "figures": [1, 2]}


class _Answer(BaseModel):
    verdict: str
    figures: list[int]


def test_one_place_names_the_formats() -> None:
    assert tuple(NAMES) == get_args(wire.Name)
    assert get_args(config.StructuredOutput) == ("auto", *NAMES)


def _only(name: str, seen: list[str]) -> Any:
    """A server that speaks only format ``name`` (a 400 for any other), answering as a model
    asked that way would: bare JSON, or JSON in prose and a code fence when the prompt asked."""

    def script(label: str, body: dict[str, Any]) -> Reply:
        sent = wire.format_of(body)
        seen.append(sent)
        if sent != name:
            return Reply(400, {"error": {"message": f"response_format {sent} is not supported"}})
        content = json.dumps(ANSWER)
        if wire.FORMATS[name].response_type is None:
            content = f"Sure, here it is:\n```json\n{content}\n```\nAnything else?"
        return Reply(200, completion(body["model"], content, label, 100))

    return script


@pytest.mark.enable_socket
@pytest.mark.parametrize("name", NAMES)
def test_each_format_round_trips_through_the_stub(name: wire.Name) -> None:
    for chosen in (name, "auto"):
        seen: list[str] = []
        with serve(_only(name, seen)) as server:
            llm = LLM(
                LLMSettings(
                    mode="live", model="m", base_url=server.base_url, api_key="k",
                    structured_output=chosen, retry=RetryPolicy(sleep=lambda s: None),
                )
            )  # fmt: skip
            result = llm.call([{"role": "user", "content": "Check it."}], _Answer, LABEL)
            again = llm.call([{"role": "user", "content": "Check it."}], _Answer, LABEL)
            llm.close()
        assert result.parsed == _Answer.model_validate(ANSWER) == again.parsed
        assert result.wire_format == llm.wire_format == name
        if chosen == "auto":  # probed in the table's order, then kept for the run
            assert seen == [*NAMES[: NAMES.index(name) + 1], name]
        else:
            assert seen == [name, name]


def test_each_format_builds_a_request_recognised_as_itself() -> None:
    strict: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {
            "name": "A",
            "strict": True,
            "schema": {"type": "object", "properties": {"x": {"type": "string", "maxLength": 9}}},
        },
    }
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    for name, entry in wire.FORMATS.items():
        body = {"model": "m", "messages": messages} | entry.build(messages, strict)
        assert wire.format_of(body) == name
        assert body["messages"][0] == messages[0] and body["messages"][-1]["content"].startswith(
            "u"
        )
    assert messages[-1] == {"role": "user", "content": "u"}, "the caller's messages are not changed"
    assert "maxLength" in json.dumps(strict), "the caller's schema is not changed"


def test_a_recorded_format_outside_the_table_is_named_as_it_is() -> None:
    assert wire.format_of({"response_format": {"type": "text"}}) == "text"
    assert wire.format_of({"response_format": {}}) == wire.format_of({}) == "prompt"


@pytest.mark.parametrize(
    ("mode", "recordings", "cache", "stack"),
    [
        ("replay", AREC / "recordings", None, ReplayTransport),
        ("record", "rec", None, RecordingTransport),
        ("live", None, "cache", CachingTransport),
        ("live", None, None, KeyingTransport),
    ],
)
def test_each_mode_gets_its_transport_stack(
    tmp_path: Path, mode: Mode, recordings: Path | str | None, cache: str | None, stack: type
) -> None:
    settings = LLMSettings(
        mode=mode, model="m", api_key="k",
        recordings_dir=tmp_path / recordings if isinstance(recordings, str) else recordings,
        cache_dir=tmp_path / cache if cache else None,
    )  # fmt: skip
    transport = transport_for(settings)
    assert isinstance(transport, stack)
    transport.close()
    llm = LLM(settings)
    assert (llm.replay is not None) == (stack is ReplayTransport)
    llm.close()


def test_a_run_without_a_model_makes_no_call() -> None:
    transport = transport_for(LLMSettings(mode="none", model="none"))
    with pytest.raises(AssertionError, match="uses no model"):
        transport.handle_request(httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


@pytest.mark.parametrize("mode", ["replay", "record"])
def test_replay_and_record_need_a_folder(mode: Mode) -> None:
    with pytest.raises(UsageError, match="--recordings"):
        transport_for(LLMSettings(mode=mode, model="m"))
