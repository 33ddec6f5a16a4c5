"""Data-centre networks: the CloudFront-Viewer-ASN value, the shipped list and how make data builds it."""

from __future__ import annotations

import json

import pytest

from functions.model import networks
from visitor_tracker import refresh_asns


@pytest.mark.parametrize(
    ("value", "asn"),
    [("16509", 16509), (" 7922 ", 7922), (None, None), ("", None), ("AS16509", None), ("-1", None), ("0", None),
     ("4294967296", None), ("12345678901", None), ("1,2", None)],
)  # fmt: skip
def test_asn_of_reads_only_a_plain_as_number(value: str | None, asn: int | None) -> None:
    assert networks.asn_of(value) == asn


def test_the_shipped_list_holds_cloud_providers_not_home_networks() -> None:
    data = json.loads(networks.DATA_FILE.read_text())
    assert "@ip-location-db/asn" in data["source"] and "iporigin" in data["source"]
    for cloud in ("16509", "15169", "8075", "14061", "24940", "16276"):  # AWS, Google, Azure, DO, Hetzner, OVH
        assert networks.is_datacenter(cloud), cloud
    for home in ("7922", "3320", "701", "714", "13335"):  # Comcast, DT, Verizon, Apple (Private Relay), Cloudflare
        assert not networks.is_datacenter(home), home


def test_the_join_lists_networks_mostly_hosting_and_never_relays() -> None:
    kinds = {100: "hosting", 150: "hosting", 200: "unknown", 300: "hosting", 400: "vpn", 500: "hosting"}
    rows = [
        (100, 199, 1),  # all hosting
        (200, 299, 2),  # none
        (300, 399, 3),  # a third hosting...
        (200, 299, 3),
        (200, 299, 3),
        (400, 499, 4),  # a relay (people browse through it) and hosting
        (500, 599, 4),
        (150, 150, 5),  # one hosting address out of many
        (200, 1999, 5),
    ]

    assert refresh_asns.hosting_asns(rows, lambda a: kinds.get(a - a % 50, "unknown")) == [1, 3]
