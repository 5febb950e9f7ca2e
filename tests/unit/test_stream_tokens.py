"""Browser stream tokens: signed, for one store, short-lived, single-use."""

from __future__ import annotations

import pytest

from voicegw.gateway.stream_tokens import SEP, StreamTokens, TokenError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_names_its_key_once() -> None:
    tokens = StreamTokens(60, clock=Clock())
    token = tokens.issue("0123456789ab", "cafe-ko")
    assert tokens.redeem(token, "cafe-ko") == "0123456789ab"
    with pytest.raises(TokenError) as err:
        tokens.redeem(token, "cafe-ko")
    assert err.value.code == "token_used"


def test_a_store_id_with_dots_and_colons_round_trips() -> None:
    tokens = StreamTokens(60, clock=Clock())
    assert tokens.redeem(tokens.issue("0123456789ab", "store.v2:seoul@1"), "store.v2:seoul@1") == "0123456789ab"


def test_expired_other_store_tampered_and_foreign_tokens_are_refused() -> None:
    clock = Clock()
    tokens = StreamTokens(60, clock=clock)
    late = tokens.issue("0123456789ab", "cafe-ko")
    clock.now += 61
    with pytest.raises(TokenError, match="expired"):
        tokens.redeem(late, "cafe-ko")

    other = tokens.issue("0123456789ab", "cafe-ko")
    with pytest.raises(TokenError) as err:
        tokens.redeem(other, "burger-ko")
    assert err.value.http_status == 403

    parts = tokens.issue("0123456789ab", "cafe-ko").split(SEP)
    parts[1] = "ba9876543210"  # another key, same signature
    with pytest.raises(TokenError, match="not valid"):
        tokens.redeem(SEP.join(parts), "cafe-ko")

    elsewhere = StreamTokens(60, clock=clock).issue("0123456789ab", "cafe-ko")  # another process's secret
    for bad in (elsewhere, "", "vgs1", "x" * 500):
        with pytest.raises(TokenError):
            tokens.redeem(bad, "cafe-ko")
