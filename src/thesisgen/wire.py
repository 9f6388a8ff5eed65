"""The wire formats of a structured call: one table entry per way of asking a server for JSON.

An entry says what its format adds to a request body (from the messages and the answer's JSON
schema) and how the JSON text is read back from an answer. ``auto`` probes the formats in the
table's order and keeps the first one the server accepts. Adding a format is one entry in
``FORMATS`` and its name in ``Name``; ``config.StructuredOutput`` lists the same names (a test
holds them together). No openai import here: replay reads a recording's format without the SDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Name = Literal["json_schema", "json_object", "prompt"]
Messages = list[dict[str, str]]
Body = dict[str, Any]
# The SDK's strict response_format for the answer's schema:
# {"type": "json_schema", "json_schema": {"name": ..., "strict": true, "schema": {...}}}
Strict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Format:
    """``build``: what the format adds to (or replaces in) the request body; ``read``: the JSON
    text in an answer's content; ``response_type``: the ``response_format`` type its requests
    carry (None: they carry none), which is how a recorded request's format is told."""

    name: Name
    build: Callable[[Messages, Strict], Body]
    read: Callable[[str], str]
    response_type: str | None


_BOUNDS = ("maxItems", "minItems", "maxLength", "minLength")


def _without_bounds(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_bounds(v) for k, v in schema.items() if k not in _BOUNDS}
    if isinstance(schema, list):
        return [_without_bounds(v) for v in schema]
    return schema


def _json_schema(messages: Messages, strict: Strict) -> Body:
    # OpenAI's strict mode accepts only a subset of JSON Schema; size bounds stay with the other
    # formats (they keep small local models from generating without end) and with our own
    # validation of every answer.
    inner = strict["json_schema"]
    return {
        "response_format": {
            **strict,
            "json_schema": {**inner, "schema": _without_bounds(inner["schema"])},
        }
    }


def _json_object(messages: Messages, strict: Strict) -> Body:
    # llama-cpp-python's server answers json_schema with HTTP 500 but accepts this.
    return {"response_format": {"type": "json_object", "schema": strict["json_schema"]["schema"]}}


def _prompt(messages: Messages, strict: Strict) -> Body:
    schema_text = json.dumps(strict["json_schema"]["schema"], separators=(",", ":"))
    last = messages[-1]
    asked = {
        "role": last["role"],
        "content": last["content"]
        + "\n\nAnswer with only a JSON object that matches this JSON schema:\n"
        + schema_text,
    }
    return {"messages": [*messages[:-1], asked]}


def _as_is(content: str) -> str:
    return content


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _from_prose(content: str) -> str:
    """Prompt-only answers may wrap the JSON in prose or a code fence."""
    fenced = _FENCE.search(content)
    if fenced:
        return fenced.group(1)
    start, end = content.find("{"), content.rfind("}")
    return content[start : end + 1] if start != -1 and end > start else content


FORMATS: dict[Name, Format] = {
    f.name: f
    for f in (
        Format("json_schema", _json_schema, _as_is, "json_schema"),
        Format("json_object", _json_object, _as_is, "json_object"),
        Format("prompt", _prompt, _from_prose, None),
    )
}


def format_of(body: Body) -> str:
    """The format a (recorded) request body was sent in; an unknown response_format type is
    returned as it is, so replay can say which format its recordings use."""
    sent = body.get("response_format")
    kind = sent.get("type") if isinstance(sent, dict) else None
    return next((f.name for f in FORMATS.values() if f.response_type == kind), str(kind))
