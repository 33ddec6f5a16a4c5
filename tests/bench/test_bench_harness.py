"""The bench harness counts what it claims to count (AWS calls, items read) and computes percentiles right."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from bench import harness
from tests.support.calls import CallCounter


@pytest.fixture
def table(aws: None) -> Iterator[str]:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="t",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield "t"


def test_call_counter_counts_calls_and_items_read(table: str) -> None:
    # GIVEN a client with a counter attached and three items in the table
    client = boto3.client("dynamodb")
    counter = CallCounter().attach(client)
    for i in range(3):
        client.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": str(i)}})
    # WHEN it queries the partition and batch-gets two keys
    client.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    client.batch_get_item(
        RequestItems={table: {"Keys": [{"pk": {"S": "p"}, "sk": {"S": "0"}}, {"pk": {"S": "p"}, "sk": {"S": "1"}}]}}
    )
    # THEN every call and every returned item is counted
    assert counter.calls == {"dynamodb.PutItem": 3, "dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}
    assert counter.total() == 5 and counter.total("sqs") == 0
    assert counter.items_read == 5
    assert counter.breakdown() == "BatchGetItem 1, PutItem 3, Query 1"
    # AND once detached it counts nothing more
    counter.detach()
    client.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "0"}})
    assert counter.total() == 5


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert harness.percentile(values, 50) == 50.0
    assert harness.percentile(values, 99) == 99.0
    assert harness.percentile(values, 100) == 100.0
    assert harness.percentile([7.0], 99) == 7.0


def test_result_row_shows_the_ratio_only_for_numbers() -> None:
    assert harness.Result("f", "m", 2.0, 4.0, "goal", True).row()[4] == "0.50x"
    assert harness.Result("f", "m", "n/a", 4.0).row()[4] == "-"


def test_captured_stdout_counts_bytes_written_to_fd_1(capfd: pytest.CaptureFixture[str]) -> None:
    # Lambda ships whatever reaches fd 1 to CloudWatch Logs; pytest swaps sys.stdout, so write to the fd.
    with harness.captured_stdout() as written:
        os.write(1, b"x" * 99 + b"\n")
    assert written[0] == 100
    assert "x" * 99 not in capfd.readouterr().out


def test_item_size_follows_dynamodb_sizing_rules() -> None:
    # names count as well as values; a number is about one byte per two significant digits, plus one
    item = {
        "pk": {"S": "AGG#UNIQ"},  # 2 + 8
        "visits": {"N": "12345"},  # 6 + 3
        "visitors": {"SS": ["0123456789abcdef", "fedcba9876543210"]},  # 8 + 32
        "ok": {"BOOL": True},  # 2 + 1
        "m": {"M": {"a": {"S": "xy"}}},  # 1 + (3 + 1 + 2 + 1)
    }
    assert harness.item_size(item) == 10 + 9 + 40 + 3 + 8
