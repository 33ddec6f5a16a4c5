"""The site's script (issue 21): its size budget, how extensions are chosen and assembled."""

from __future__ import annotations

import gzip

import pytest

from functions.core import script

CORE_BUDGET = 1024  # gzipped bytes: pageviews, client-side navigation, the vt() events API
EXTENSION_BUDGET = 512  # gzipped bytes each extension may add to the core


def gzipped(text: str) -> int:
    return len(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def test_the_core_script_is_at_most_1_kb_gzipped() -> None:
    assert gzipped(script.assemble(()).text) <= CORE_BUDGET


@pytest.mark.parametrize("extension", script.EXTENSIONS)
def test_each_extension_adds_at_most_half_a_kb_gzipped(extension: str) -> None:
    core = gzipped(script.assemble(()).text)
    assert gzipped(script.assemble((extension,)).text) - core <= EXTENSION_BUDGET


def test_extensions_come_in_one_order_whatever_the_query_says() -> None:
    assert script.extensions_of("404, OUTBOUND,outbound") == ("outbound", "404")
    assert script.extensions_of("") == script.extensions_of(None) == ()
    both = script.assemble(script.extensions_of("downloads,outbound"))
    assert both == script.assemble(script.extensions_of("outbound,downloads"))
    # the core first, then each extension's own file, once
    assert both.text.startswith(script.source("core"))
    assert both.text.index(script.source("outbound")) < both.text.index(script.source("downloads"))


def test_an_unknown_extension_is_named_in_the_error() -> None:
    with pytest.raises(script.UnknownExtension, match="unknown script extension.*goals.*known: outbound"):
        script.extensions_of("outbound,goals")


def test_each_build_has_its_own_etag() -> None:
    etags = {script.assemble(script.extensions_of(ext)).etag for ext in ("", "outbound", "404", "outbound,404")}
    assert len(etags) == 4


def test_the_shipped_files_use_no_cookies_and_no_storage_outside_the_opt_out() -> None:
    every = script.assemble(script.EXTENSIONS).text
    assert "cookie" not in every
    assert every.count("localStorage") == 1  # read only behind data-optout (docs/script.md)
    assert "sessionStorage" not in every
