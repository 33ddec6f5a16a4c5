"""The lake's resources in the synthesized stack (issue 22): the bucket, the Glue table with partition
projection, the Athena workgroup and its results bucket, and who may do what on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.model.lakerow import COLUMNS, PARTITIONS
from pipeline.lake import ATHENA_ACTIONS, BYTES_SCANNED_CUTOFF, GLUE_ACTIONS, RESULTS_DAYS

from .helpers import Synth, as_list, function_props, logical_id, statements

pytestmark = pytest.mark.xdist_group("infra")


def _bucket(synth: Synth, contains: str) -> tuple[str, dict[str, Any]]:
    key = logical_id(synth, "AWS::S3::Bucket", contains)
    return key, synth.resources[key]


def _expiry(bucket: dict[str, Any]) -> int:
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert len(rules) == 1 and rules[0]["Status"] == "Enabled"
    return int(rules[0]["ExpirationInDays"])


@pytest.mark.parametrize(("variant_name", "days", "policy"), [("rest", 760, "Retain"), ("rest_all", 400, "Delete")])
def test_the_lake_bucket_is_encrypted_private_tls_only_and_expires_on_its_own(
    variant: Callable[[str], Synth], variant_name: str, days: int, policy: str
) -> None:
    synth = variant(variant_name)
    key, bucket = _bucket(synth, "LakeBucket")
    assert len(synth.of_type("AWS::S3::Bucket")) == 2  # the lake and Athena's results, nothing else
    assert _expiry(bucket) == days and bucket["DeletionPolicy"] == policy
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert set(bucket["Properties"]["PublicAccessBlockConfiguration"].values()) == {True}
    assert "VersioningConfiguration" not in bucket["Properties"]
    policies = [p for p in synth.of_type("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": key}]
    denies = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert [d["Condition"] for d in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]
    _, results = _bucket(synth, "LakeResults")
    assert _expiry(results) == RESULTS_DAYS


def test_the_glue_table_projects_its_partitions_without_a_crawler(rest: Synth) -> None:
    assert rest.of_type("AWS::Glue::Crawler") == {}
    (table,) = rest.of_type("AWS::Glue::Table").values()
    given = table["Properties"]["TableInput"]
    assert given["Name"] == "events_raw" and given["TableType"] == "EXTERNAL_TABLE"
    assert [(c["Name"], c["Type"]) for c in given["StorageDescriptor"]["Columns"]] == [(n, t) for n, _, t in COLUMNS]
    assert [(c["Name"], c["Type"]) for c in given["PartitionKeys"]] == [(n, t) for n, _, t in PARTITIONS]
    assert given["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    parameters = given["Parameters"]
    assert parameters["projection.enabled"] == "true" and parameters["projection.site.type"] == "injected"
    assert parameters["projection.day.type"] == "date" and parameters["projection.day.format"] == "yyyy-MM-dd"
    assert parameters["storage.location.template"]["Fn::Join"][1][-1].endswith("/events/site=${site}/day=${day}/")


def test_the_workgroup_enforces_its_scan_limit_and_encrypted_results(rest: Synth) -> None:
    (workgroup,) = rest.of_type("AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["BytesScannedCutoffPerQuery"] == BYTES_SCANNED_CUTOFF
    assert configuration["EnforceWorkGroupConfiguration"] is True
    results = configuration["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}


def _on_lake(synth: Synth, name: str) -> dict[str, set[str]]:
    """The function's S3, Athena and Glue actions by the resource they are on (as written in the template)."""
    found: dict[str, set[str]] = {}
    for st in statements(synth, name):
        lake_actions = {a for a in as_list(st["Action"]) if a.split(":")[0] in ("s3", "athena", "glue")}
        for resource in as_list(st["Resource"]) if lake_actions else ():
            found.setdefault(str(resource), set()).update(lake_actions)
    return found


def test_the_writer_may_only_put_events_and_status_only_read_through_athena(rest: Synth) -> None:
    bucket, _ = _bucket(rest, "LakeBucket")
    writer = {frozenset(actions): resource for resource, actions in _on_lake(rest, "writer").items()}
    assert set(writer) == {frozenset({"s3:PutObject"}), frozenset({"s3:DeleteObject"})}
    assert "/events/*" in writer[frozenset({"s3:PutObject"})] and bucket in writer[frozenset({"s3:PutObject"})]
    # (a late row drops its day's stored panels: the writer may delete rollups, nothing else)
    assert "/rollups/*" in writer[frozenset({"s3:DeleteObject"})]
    status = _on_lake(rest, "status")
    by_actions = {frozenset(actions): resource for resource, actions in status.items()}
    assert "workgroup" in by_actions[frozenset(ATHENA_ACTIONS)]
    assert "/events/*" in by_actions[frozenset({"s3:GetObject"})]
    assert "/rollups/*" in by_actions[frozenset({"s3:GetObject", "s3:PutObject"})]
    assert sum(1 for a in status.values() if a == set(GLUE_ACTIONS)) == 3  # catalog, database, table
    assert not any("s3:DeleteObject" in a for a in status.values())
    environment = function_props(rest, "status")["Environment"]["Variables"]
    assert {"LAKE_BUCKET", "ATHENA_WORKGROUP", "ATHENA_DATABASE"} <= set(environment)
    assert "LAKE_BUCKET" in function_props(rest, "writer")["Environment"]["Variables"]


def test_the_stack_names_the_workgroup_and_database_for_the_cli(rest: Synth) -> None:
    outputs = rest.template["Outputs"]
    assert {"AthenaWorkgroup", "AthenaDatabase", "LakeBucket"} <= set(outputs)
