"""``python -m visitor_tracker.refresh_channels``: Matomo's YAML lists into the channel data the writer ships."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visitor_tracker import refresh_channels


def _checkout(tmp_path: Path) -> Path:
    (tmp_path / "SearchEngines.yml").write_text(
        "Google:\n  -\n    urls:\n      - www.google.com\n      - 'google.{}'\n    params:\n      - q\n"
        "DuckDuckGo:\n  -\n    urls:\n      - duckduckgo.com\n"
    )
    (tmp_path / "Socials.yml").write_text("Bluesky:\n  - bsky.app\n  - skyfeed.app\n")
    (tmp_path / "AIAssistants.yml").write_text("ChatGPT:\n  - chatgpt.com\nGrok:\n  - grok.com\n  - x.com/i/grok\n")
    return tmp_path


def test_the_lists_become_hosts_any_tld_prefixes_and_named_assistants(tmp_path: Path) -> None:
    data = refresh_channels.build(_checkout(tmp_path))
    assert data["search"] == ["duckduckgo.com", "www.google.com"]
    assert data["search_any_tld"] == ["google."]
    assert data["social"] == ["bsky.app", "skyfeed.app"]
    assert data["ai"] == {"chatgpt.com": "ChatGPT", "grok.com": "Grok"}  # paths are left out
    assert data["source"].startswith(refresh_channels.SOURCE)


def test_check_says_whether_the_shipped_file_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "channels_data.json"
    target.parent.mkdir()
    monkeypatch.setattr(refresh_channels, "DATA_FILE", target)
    checkout = _checkout(tmp_path)
    assert refresh_channels.main([str(checkout), "--check"]) == 1  # no file yet
    assert refresh_channels.main([str(checkout)]) == 0
    assert json.loads(target.read_text())["social"] == ["bsky.app", "skyfeed.app"]
    assert refresh_channels.main([str(checkout), "--check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "up to date"
