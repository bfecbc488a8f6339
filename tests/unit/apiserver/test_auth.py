"""Bearer token checks (RFC 6750 section 2.1)."""

from __future__ import annotations

import pytest

from svcnet.apiserver.auth import check_bearer

TOKEN = "s3cr3t-Token_value"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        pytest.param(f"Bearer {TOKEN}", True, id="canonical"),
        pytest.param(f"bearer {TOKEN}", True, id="scheme-lowercase"),
        pytest.param(f"BEARER {TOKEN}", True, id="scheme-uppercase"),
        pytest.param(f"  Bearer   {TOKEN}  ", True, id="extra-whitespace"),
        pytest.param(f"Bearer {TOKEN}x", False, id="longer-token"),
        pytest.param(f"Bearer {TOKEN[:-1]}", False, id="shorter-token"),
        pytest.param(f"Basic {TOKEN}", False, id="other-scheme"),
        pytest.param(f"Bearer{TOKEN}", False, id="no-separator"),
        pytest.param("Bearer ", False, id="empty-credential"),
        pytest.param(TOKEN, False, id="no-scheme"),
        pytest.param("", False, id="empty-header"),
        pytest.param(None, False, id="absent-header"),
        pytest.param("Bearer tökén", False, id="non-ascii-credential"),
    ],
)
def test_check_bearer(header: str | None, ok: bool) -> None:
    assert check_bearer(header, TOKEN) is ok


def test_empty_expected_token_never_matches() -> None:
    assert check_bearer("Bearer ", "") is False
    assert check_bearer("Bearer x", "") is False
