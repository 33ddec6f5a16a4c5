"""bench/front_door_cost.py: CloudFront's price per million visits, line by line."""

from __future__ import annotations

import pytest

from bench.front_door_cost import (
    GB,
    MILLION,
    CloudFrontPrices,
    VisitBytes,
    front_door_per_million,
    front_door_total_per_million,
    with_front_door,
)


def test_each_line_is_price_times_quantity() -> None:
    prices = CloudFrontPrices(
        https_request_per_million=2.0, transfer_out_internet_per_gb=0.5, transfer_out_origin_per_gb=0.25,
        function_per_million=0.1,
    )  # fmt: skip
    size = VisitBytes(response_bytes=GB // MILLION * 2, request_to_origin_bytes=GB // MILLION * 4)
    lines = front_door_per_million(size, prices)
    assert lines["CloudFront HTTPS requests"] == pytest.approx(2.0)
    assert lines["CloudFront data transfer out"] == pytest.approx(2 * 0.5, rel=1e-3)
    assert lines["CloudFront transfer to origin"] == pytest.approx(4 * 0.25, rel=1e-3)
    assert lines["CloudFront Functions (path rewrite)"] == pytest.approx(0.1)


def test_default_prices_give_about_a_dollar_twenty_per_million() -> None:
    # $1.00 requests + ~0.84 GB x $0.085 + ~1.1 GB x $0.02 + $0.10 functions
    assert front_door_total_per_million() == pytest.approx(1.19, abs=0.02)
    # requests dominate: the front door costs about what an HTTP API does, on top of the ingress
    assert front_door_per_million()["CloudFront HTTPS requests"] / front_door_total_per_million() > 0.8


def test_scales_with_requests_per_visit_and_adds_to_an_ingress() -> None:
    assert front_door_total_per_million(requests_per_visit=2) == pytest.approx(2 * front_door_total_per_million())
    assert with_front_door(4.66) == pytest.approx(4.66 + front_door_total_per_million())
