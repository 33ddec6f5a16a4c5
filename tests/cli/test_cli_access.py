"""`visitor-tracker token ...` and `share ...` against a pipeline, checked through the table the
status function reads (the access check itself: tests/integration/test_access.py)."""

from __future__ import annotations

import re

from functions.model.access import OWNER_ID
from functions.tables import access
from tests.cli.conftest import Env

LINK = re.compile(r"http://127\.0\.0\.1:9/dashboard#token=([a-z0-9]+)\.([A-Za-z0-9_-]+)")


def stored(env: Env) -> dict[str, str]:
    return {t.token_id: t.token for t in access.all_tokens(env.resources.table_name, client=env.dynamodb)}


def test_token_show_creates_the_owner_token_once_and_prints_the_dashboard_link(env: Env) -> None:
    first = env.cli("token", "show")
    assert first.exit_code == 0, first.output
    token = env.cli("token", "show", "--quiet").stdout.strip()
    assert stored(env) == {OWNER_ID: token}  # created by the first call, kept by the second
    assert f"dashboard  http://127.0.0.1:9/dashboard#token={token}" in first.stdout
    ensured = env.cli("token", "ensure")
    assert ensured.exit_code == 0 and token in ensured.stdout and "private" in ensured.stdout


def test_token_rotate_replaces_it_after_asking(env: Env) -> None:
    old = env.cli("token", "show", "--quiet").stdout.strip()
    refused = env.cli("token", "rotate", input="n\n")
    assert refused.exit_code == 1 and stored(env)[OWNER_ID] == old
    rotated = env.cli("token", "rotate", "--yes")
    assert rotated.exit_code == 0, rotated.output
    new = stored(env)[OWNER_ID]
    assert new != old and new in rotated.stdout


def test_shared_links_are_created_listed_and_revoked(env: Env) -> None:
    created = env.cli("share", "create", "--label", "ACME agency")
    assert created.exit_code == 0, created.output
    (link_id, secret) = LINK.search(created.stdout).groups()  # type: ignore[union-attr]
    assert stored(env)[link_id] == f"{link_id}.{secret}"

    listed = env.cli_json("share", "list")
    assert [(x["id"], x["label"]) for x in listed] == [(link_id, "ACME agency")]
    assert listed[0]["link"].endswith(f"#token={link_id}.{secret}")

    revoked = env.cli("share", "revoke", link_id)
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert link_id not in stored(env)
    assert "No shared links" in env.cli("share", "list").stdout


def test_bad_share_commands_are_one_line_errors(env: Env) -> None:
    for args, message in (
        (("share", "revoke", "nosuch1"), "no shared link 'nosuch1'"),
        (("share", "revoke", OWNER_ID), "is not a shared link id"),
        (("share", "revoke", "Bad/Id"), "is not a shared link id"),
        (("share", "create", "--label", "x" * 81), "--label must be 1 to 80 characters"),
        (("share", "create", "--label", "  "), "--label must be 1 to 80 characters"),
    ):
        result = env.cli(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr and "Traceback" not in result.output
    assert OWNER_ID not in stored(env)  # nothing was issued by the refused commands
