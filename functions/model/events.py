"""Custom events: what a ``GET /?e=<name>&p=<props as JSON>`` may carry, cleaned and bounded. Pure.

An event (``vt("Signup", {plan: "pro"})`` in the site script) is recorded like a visit, exactly once by
the writer's transaction, but it is not a pageview: it never adds to ``visitor_count`` or the page
tallies, only to the event tallies (``layout.EVENT``, ``layout.PROPERTY``). The limits keep what one
request can make the table hold small and predictable; a request over them is refused whole with a
400 naming the limit (a cut name could merge two events), documented in docs/script.md:

- name: 1 to ``MAX_NAME_LENGTH`` characters once control characters are removed and spaces collapsed,
  none of ``| = < > "`` (``|`` and ``=`` separate the parts of a property tally);
- props: a JSON object of at most ``MAX_PROPS`` entries, ``MAX_PROPS_JSON`` characters in all; keys of
  1 to ``MAX_KEY_LENGTH`` characters among letters, digits, ``_``, ``-`` and ``.``; values strings,
  numbers or booleans (as text, ``true``/``false``), at most ``MAX_VALUE_LENGTH`` characters once
  cleaned; an empty value is dropped. Tallies keep a value's first ``TALLY_VALUE_CHARS`` characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

EVENT_PARAMETER = "e"
PROPS_PARAMETER = "p"
MAX_NAME_LENGTH = 64
MAX_PROPS = 10
MAX_PROPS_JSON = 2048
MAX_KEY_LENGTH = 32
MAX_VALUE_LENGTH = 256
TALLY_VALUE_CHARS = 100
PROPERTY_SEPARATOR = "|"  # a property tally is named "<event>|<key>=<value>"

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FORBIDDEN_IN_NAME = re.compile(r'[|=<>"]')
_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


class BadEvent(ValueError):
    """The event breaks one of the documented limits (the answer is a 400 with this message)."""


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", _CONTROL.sub("", value)).strip()


def event_name(raw: str) -> str:
    name = _clean(raw[: MAX_NAME_LENGTH * 4])
    if not name:
        raise BadEvent("the event name (e) is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise BadEvent(f"the event name (e) is longer than {MAX_NAME_LENGTH} characters")
    if _FORBIDDEN_IN_NAME.search(name):
        raise BadEvent('the event name (e) must not contain any of | = < > "')
    return name


def _value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and value == value and value not in (float("inf"), float("-inf")):
        return str(value)
    if isinstance(value, str):
        text = _clean(value)
        if len(text) > MAX_VALUE_LENGTH:
            raise BadEvent(f"property {key!r} is longer than {MAX_VALUE_LENGTH} characters")
        return text
    raise BadEvent(f"property {key!r} must be a string, a number or a boolean")


def properties(raw: str | None) -> dict[str, str]:
    """The props of ``p`` (a JSON object) as cleaned text, in their order; empty values dropped."""
    if raw is None or not raw.strip():
        return {}
    if len(raw) > MAX_PROPS_JSON:
        raise BadEvent(f"the properties (p) are longer than {MAX_PROPS_JSON} characters")
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadEvent("the properties (p) are not JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("the properties (p) must be a JSON object")
    if len(data) > MAX_PROPS:
        raise BadEvent(f"an event has at most {MAX_PROPS} properties")
    props: dict[str, str] = {}
    for key, value in data.items():
        if not _KEY.match(key) or len(key) > MAX_KEY_LENGTH:
            raise BadEvent(f"property names are 1 to {MAX_KEY_LENGTH} letters, digits, '_', '-' or '.': {key[:40]!r}")
        text = _value(key, value)
        if text:
            props[key] = text
    return props


def event_of(query: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """(name, props) when the request is an event, None for a pageview; ``BadEvent`` when over a limit."""
    if EVENT_PARAMETER not in query:
        if PROPS_PARAMETER in query:
            raise BadEvent("properties (p) without an event name (e)")
        return None
    return event_name(query[EVENT_PARAMETER]), properties(query.get(PROPS_PARAMETER))


def property_names(event: str, props: Mapping[str, str]) -> list[str]:
    """The tally names of an event's properties: ``<event>|<key>=<value>`` (value cut for the tally)."""
    return [f"{event}{PROPERTY_SEPARATOR}{k}={v[:TALLY_VALUE_CHARS]}" for k, v in props.items()]


def split_property(name: str) -> tuple[str, str, str] | None:
    """(event, key, value) of a property tally name, None for ``(other)`` or anything else."""
    event, sep, rest = name.partition(PROPERTY_SEPARATOR)
    key, eq, value = rest.partition("=")
    return (event, key, value) if sep and eq else None
