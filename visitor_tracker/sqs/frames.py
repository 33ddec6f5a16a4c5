"""The journal's records: each framed with its CRC-32, checked on the way back, applied to the replayed
queues only when every field it needs is there and of the right type."""

from __future__ import annotations

import json
import zlib
from typing import Any


class Damaged(ValueError):
    """A journal record that cannot be trusted: it is set aside, never replayed."""


def frame(line: dict[str, Any]) -> str:
    """One journal record: CRC-32 of the JSON, a space, the JSON, a newline."""
    text = json.dumps(line, separators=(",", ":"))
    return f"{zlib.crc32(text.encode()):08x} {text}\n"


def unframe(raw: bytes) -> dict[str, Any]:
    """The record in one line (framed, or an unframed line of the previous version); raises Damaged."""
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            checksum, text = text.split(" ", 1)
            if int(checksum, 16) != zlib.crc32(text.encode()):
                raise Damaged("checksum mismatch")
        record = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Damaged(str(exc)) from None
    if not isinstance(record, dict):
        raise Damaged("not a record")
    return record


def _text(record: dict[str, Any], name: str) -> str:
    value = record[name]
    if not isinstance(value, str):
        raise Damaged(f"{name} is not text")
    return value


def apply_record(state: dict[str, dict[str, dict[str, Any]]], line: dict[str, Any]) -> None:
    """One record onto the replayed state; raises when its fields are missing or of the wrong type."""
    op = line.get("op")
    if op == "send":
        _text(line, "body")
        if not isinstance(line.get("attrs") or {}, dict) or not isinstance(line.get("sent", 0), int):
            raise Damaged("bad message fields")
        state.setdefault(_text(line, "q"), {})[_text(line, "id")] = line
    elif op == "del":
        queue = state.get(_text(line, "q"), {})
        for message_id in list(line["ids"]):
            queue.pop(message_id, None)
    elif op == "move":
        source, target = state.setdefault(_text(line, "from"), {}), state.setdefault(_text(line, "to"), {})
        for message_id in list(line["ids"]):
            entry = source.pop(message_id, None)
            if entry is not None:
                receives = int(line.get("receives", {}).get(message_id, 0))
                first = line.get("first", {}).get(message_id)
                target[message_id] = {**entry, "q": line["to"], "receives": receives, "first": first}
    elif op == "purge":
        state[_text(line, "q")] = {}
    else:
        raise Damaged(f"unknown op {op!r}")
