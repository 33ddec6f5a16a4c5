"""The HyperLogLog sketch: exact while small, within its error when large, merges safe to repeat."""

from __future__ import annotations

import hashlib

import pytest

from functions.model import sketches as hll
from functions.model.sketches import InvalidSketch, Sketch


def visitors(n: int, family: str = "v") -> list[str]:
    """Visitor members like the writer's: 16 hex characters of a hash."""
    return [hashlib.sha256(f"{family}{i}".encode()).hexdigest()[:16] for i in range(n)]


def test_the_count_is_exact_up_to_the_sparse_limit_and_near_exact_to_300() -> None:
    # GIVEN visitors added one by one (each also seen twice: repeats must not count)
    sketch = Sketch()
    members = visitors(300)
    for n, member in enumerate(members, start=1):
        sketch.add(member)
        sketch.add(member)
        # THEN up to 255 the count is exact, and up to 300 it is off by at most 3 %
        if n <= hll.SPARSE_MAX:
            assert sketch.estimate() == n and not sketch.dense
        else:
            assert abs(sketch.estimate() - n) <= 0.03 * n and sketch.dense
    assert Sketch().estimate() == 0


@pytest.mark.parametrize("n", [20_000, 100_000])
def test_large_counts_are_within_three_standard_errors(n: int) -> None:
    sketch = Sketch.of(visitors(n, family=f"big{n}-"))
    assert abs(sketch.estimate() - n) <= 3 * hll.STANDARD_ERROR * n
    assert len(sketch.to_bytes()) == hll.M == 2048  # fixed size, whatever the count


def test_merge_is_idempotent_commutative_and_a_union() -> None:
    # GIVEN two overlapping groups of visitors, in every pair of forms (sparse/dense)
    for size in (100, 3_000):
        a_members, b_members = visitors(size, "a"), visitors(size // 2, "a") + visitors(size // 2, "b")
        a, b = Sketch.of(a_members), Sketch.of(b_members)
        # THEN merging either way is the sketch of the union, and merging again changes nothing
        union = Sketch.of(a_members + b_members)
        assert a.merge(b) == b.merge(a) == union
        assert union.merge(a) == union and union.merge(union) == union
        assert a.merge(Sketch()) == a
        # AND a merge leaves its operands alone
        assert a == Sketch.of(a_members)
    # A sparse sketch merged into a dense one gives the same registers as adding the members
    small, big = visitors(50, "s"), visitors(3_000, "d")
    assert Sketch.of(big).merge(Sketch.of(small)) == Sketch.of(big + small) == Sketch.of(small).merge(Sketch.of(big))


@pytest.mark.parametrize("n", [0, 1, 255, 256, 5_000])
def test_serialisation_round_trips_in_both_forms(n: int) -> None:
    sketch = Sketch.of(visitors(n))
    data = sketch.to_bytes()
    assert len(data) <= hll.M
    restored = Sketch.from_bytes(data)
    assert restored == sketch and restored.estimate() == sketch.estimate() and restored.dense == sketch.dense
    assert Sketch.from_bytes(None) == Sketch()


@pytest.mark.parametrize("data", [b"\x00" * 7, b"\x00" * 2056, b"\x99" * 2048])
def test_bytes_that_are_not_a_sketch_are_rejected(data: bytes) -> None:
    with pytest.raises(InvalidSketch):
        Sketch.from_bytes(data)
