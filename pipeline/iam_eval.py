"""A small, pure evaluator of identity-policy statements for the DynamoDB key conditions we write.

moto does not evaluate ``dynamodb:LeadingKeys`` (its IAM checks ignore most condition keys), so the
least-privilege tests evaluate the synthesized statements themselves. Scope, on purpose narrow:
``Allow``/``Deny`` statements with ``Action`` (exact names or ``*`` wildcards), ``Resource`` (compared
as given: a CloudFormation expression or an ARN, or ``*``) and the ``StringLike`` /
``ForAllValues:StringLike`` / ``ForAnyValue:StringLike`` operators. Any other condition operator is
refused (``ValueError``) rather than guessed, so the evaluator cannot silently allow too much.

IAM semantics kept: an explicit ``Deny`` wins; nothing allowed is denied (implicit deny);
``ForAllValues`` over an absent or empty key is true (why no function may have ``Scan``);
``ForAnyValue`` needs one matching value; a plain ``StringLike`` needs exactly one, matching, value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

_SUPPORTED = ("StringLike", "ForAllValues:StringLike", "ForAnyValue:StringLike")


@dataclass(frozen=True)
class Request:
    """One authorization question: an action on a resource with its condition context."""

    action: str
    resource: Any
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character; case-sensitive for values."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob), re.DOTALL)


def string_like(value: str, patterns: Iterable[str]) -> bool:
    return any(_pattern(p).fullmatch(value) for p in patterns)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    # Action names are case-insensitive in IAM.
    return any(_pattern(str(a).lower()).fullmatch(action.lower()) for a in _as_list(statement.get("Action", [])))


def _resource_matches(statement: Mapping[str, Any], resource: Any) -> bool:
    for candidate in _as_list(statement.get("Resource", [])):
        if candidate == "*" or candidate == resource:
            return True
        if isinstance(candidate, str) and isinstance(resource, str) and _pattern(candidate).fullmatch(resource):
            return True
    return False


def _conditions_hold(statement: Mapping[str, Any], context: Mapping[str, Sequence[str]]) -> bool:
    for operator, tests in statement.get("Condition", {}).items():
        if operator not in _SUPPORTED:
            raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")
        for key, patterns in tests.items():
            values = list(context.get(key, ()))
            wanted = _as_list(patterns)
            if operator == "ForAllValues:StringLike":
                ok = all(string_like(v, wanted) for v in values)  # vacuously true when absent
            elif operator == "ForAnyValue:StringLike":
                ok = any(string_like(v, wanted) for v in values)
            else:  # single-valued StringLike: absent key -> false
                ok = len(values) == 1 and string_like(values[0], wanted)
            if not ok:
                return False
    return True


def is_allowed(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """True when some Allow statement matches and no Deny statement does."""
    allowed = False
    for statement in statements:
        if not (_action_matches(statement, request.action) and _resource_matches(statement, request.resource)):
            continue
        if not _conditions_hold(statement, request.context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


# --- DynamoDB requests -> authorization questions -----------------------------------------------

_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SINGLE_ITEM = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")


def _pk(item_or_key: Mapping[str, Any], pk_name: str) -> str:
    return str(item_or_key[pk_name]["S"])


def _query_partition_key(params: Mapping[str, Any], pk_name: str) -> str:
    """The partition-key value of a Query's ``#n = :v`` key condition (names and values substituted)."""
    names = {alias: real for alias, real in params.get("ExpressionAttributeNames", {}).items()}
    for left, right in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params["KeyConditionExpression"]):
        if names.get(left, left) == pk_name:
            return str(params["ExpressionAttributeValues"][right]["S"])
    raise ValueError(f"no partition-key equality in {params['KeyConditionExpression']!r}")


def dynamodb_requests(operation: str, params: Mapping[str, Any], *, pk_name: str, table_resource: Any) -> list[Request]:
    """What IAM authorizes for one DynamoDB API call: one request per action, keyed by its partition keys.

    A batch is one request whose ``dynamodb:LeadingKeys`` holds every key it touches; a transaction
    is one request per contained action. ``table_resource`` stands for the table in the statements.
    """

    def request(action: str, pks: Iterable[str]) -> Request:
        return Request(f"dynamodb:{action}", table_resource, {"dynamodb:LeadingKeys": tuple(sorted(set(pks)))})

    if operation in _SINGLE_ITEM:
        return [request(operation, [_pk(params.get("Key") or params["Item"], pk_name)])]
    if operation == "BatchGetItem":
        return [request(operation, [_pk(k, pk_name) for spec in params["RequestItems"].values() for k in spec["Keys"]])]
    if operation == "BatchWriteItem":
        pks = [
            _pk(w["PutRequest"]["Item"] if "PutRequest" in w else w["DeleteRequest"]["Key"], pk_name)
            for writes in params["RequestItems"].values()
            for w in writes
        ]
        return [request(operation, pks)]
    if operation == "TransactWriteItems":
        found = []
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            found.append(request(_TRANSACT_WRITE[kind], [_pk(body.get("Key") or body["Item"], pk_name)]))
        return found
    if operation == "TransactGetItems":
        return [request("GetItem", [_pk(e["Get"]["Key"], pk_name)]) for e in params["TransactItems"]]
    if operation == "Query":
        return [request(operation, [_query_partition_key(params, pk_name)])]
    if operation == "Scan":
        return [Request("dynamodb:Scan", table_resource, {})]
    return [Request(f"dynamodb:{operation}", table_resource, {})]
