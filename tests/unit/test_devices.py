"""Device type and OS of real User-Agents, and the guard on the uap-core data refresh."""

from __future__ import annotations

import pytest

from functions.model import devices
from visitor_tracker import refresh_devices

SAMPLES = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        "mobile",
        "iOS",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
        "Mobile/15E148 Safari/604.1",
        "tablet",
        "iOS",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
        "desktop",
        "Windows",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile "
        "Safari/537.36",
        "mobile",
        "Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
        "tablet",
        "Android",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
        "Safari/605.1.15",
        "desktop",
        "Mac OS X",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", "desktop", "Linux"),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
        "desktop",
        "Chrome OS",
    ),
    (
        "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 "
        "Safari/605.1.15",
        "console",
        None,
    ),
    (
        "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV "
        "Safari/537.36",
        "tv",
        "Tizen",
    ),
]


@pytest.mark.parametrize(("user_agent", "device", "os"), SAMPLES)
def test_real_user_agents(user_agent: str, device: str, os: str | None) -> None:
    assert devices.device_of(user_agent) == device
    if os is not None:
        assert devices.os_of(user_agent) == os


def test_empty_and_unknown_agents_are_bounded_labels() -> None:
    assert devices.device_of("") == "other" and devices.os_of(None) == devices.OTHER
    assert devices.device_of("x" * 100_000) in devices.DEVICE_TYPES
    assert len(devices.os_of("Mozilla/5.0 (" + "Z" * 5000)) <= devices.MAX_LABEL


def test_the_committed_os_data_is_what_the_installed_uap_core_gives() -> None:
    # pyproject pins ua-parser-builtins: upgrading the pin and refreshing the data go together
    assert refresh_devices.main(["--check"]) == 0
    patterns = refresh_devices.os_patterns(refresh_devices._source())
    assert len(patterns) > 100 and all(isinstance(p[0], str) for p in patterns)
