"""Reading the aggregate items as DynamoDB returns them: numbers, packed names, sketches, tallies.

Pure: the attribute-value shape (``{"N": "3"}``, ``{"B": b"..."}``) is data, whoever fetched it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from functions.model import keys
from functions.model.keys import AttrValue
from functions.model.layout import GOAL_SKETCH_ATTR, NAME_ATTR, REGISTERS, TOP_N, UNIQUES, VERSION
from functions.model.sketches import InvalidSketch, Sketch


def number(item: Mapping[str, AttrValue] | None, name: str) -> int:
    """A number attribute (missing item or attribute: 0)."""
    if not item or name not in item or "N" not in item[name]:
        return 0
    return int(float(item[name]["N"]))


def pack_names(item: Mapping[str, AttrValue]) -> dict[str, int]:
    """The names a pack item holds, with their visits."""
    return {attr[len(NAME_ATTR) :]: number(item, attr) for attr in item if attr.startswith(NAME_ATTR)}


@dataclass(frozen=True)
class Uniques:
    """A uniques item as read: its sketch, each goal's converters (by goal label) and the version to
    condition the next write on (0: none)."""

    sketch: Sketch = field(default_factory=Sketch)
    version: int = 0
    goals: dict[str, Sketch] = field(default_factory=dict)


def _sketch(value: AttrValue | None) -> Sketch:
    raw = (value or {}).get("B")
    try:
        return Sketch.from_bytes(bytes(raw) if raw else None)
    except InvalidSketch:
        return Sketch()


def read_uniques(item: Mapping[str, AttrValue] | None) -> Uniques:
    """The uniques item's sketch (missing item: empty).

    Unreadable registers count as empty: the writer's version condition still keeps it from
    losing a concurrent write, and /status must not fail on one bad item.
    """
    if not item:
        return Uniques()
    goals = {a[len(GOAL_SKETCH_ATTR) :]: _sketch(v) for a, v in item.items() if a.startswith(GOAL_SKETCH_ATTR)}
    return Uniques(sketch=_sketch(item.get(REGISTERS)), version=number(item, VERSION), goals=goals)


def merged_sketch(name_items: Sequence[Mapping[str, AttrValue]], goal: str | None = None) -> Sketch:
    """The union of every uniques sketch among a partition's items (``goal``: that goal's converters)."""
    sketch = Sketch()
    for item in name_items:
        if item.get(keys.SK, {}).get("S", "").startswith(UNIQUES + "#"):
            uniques = read_uniques(item)
            part = uniques.sketch if goal is None else uniques.goals.get(goal)
            if part is not None:
                sketch = sketch.merge(part)
    return sketch


def tallies(name_items: Sequence[Mapping[str, AttrValue]], dim: str) -> dict[str, int]:
    """Every name of a dimension with its visits, summed over the day's packs."""
    prefix = dim + "#"
    totals: dict[str, int] = {}
    for item in name_items:
        if item.get(keys.SK, {}).get("S", "").startswith(prefix):
            for name, count in pack_names(item).items():
                totals[name] = totals.get(name, 0) + count
    return totals


def top_names(name_items: Sequence[Mapping[str, AttrValue]], dim: str, n: int = TOP_N) -> list[tuple[str, int]]:
    """The ``n`` most visited names of a dimension among a day's name items (ties by name)."""
    ranked = sorted(tallies(name_items, dim).items(), key=lambda t: (-t[1], t[0]))
    return [(name, count) for name, count in ranked[:n] if count > 0]
