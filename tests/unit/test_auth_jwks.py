"""The JWKS cache on a local file with a hand-turned clock: when it fetches, what it keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hello_birthday.auth.jwks import MAX_JWKS_BYTES, AuthUnavailable, JwksCache, parse_jwks
from tests.support import tokens
from tests.support.tokens import SigningKey


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def first() -> SigningKey:
    return tokens.rsa_key("first")


@pytest.fixture(scope="module")
def second() -> SigningKey:
    return tokens.ec_key("second")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "jwks.json"


def publish(path: Path, *keys: SigningKey) -> None:
    path.write_text(json.dumps(tokens.jwks(*keys)))


def cache(path: Path, clock: Clock, **options: Any) -> JwksCache:
    return JwksCache(f"file://{path}", ttl=300, clock=clock, **options)


def test_nothing_is_read_until_a_key_is_needed(path: Path, clock: Clock, first: SigningKey) -> None:
    keys = cache(path, clock)
    publish(path, first)
    found = keys.key("first")
    assert found is not None
    assert found.algorithm_name == "RS256"


def test_keys_are_kept_for_the_ttl_then_refetched(
    path: Path, clock: Clock, first: SigningKey, second: SigningKey
) -> None:
    publish(path, first)
    keys = cache(path, clock)
    assert keys.key("first") is not None
    publish(path, second)
    clock.now += 299
    assert keys.key("first") is not None
    clock.now += 1
    assert keys.key("first") is None
    assert keys.key("second") is not None


def test_an_unknown_kid_refetches_once(
    path: Path, clock: Clock, first: SigningKey, second: SigningKey
) -> None:
    publish(path, first)
    keys = cache(path, clock)
    assert keys.key("first") is not None
    publish(path, first, second)
    assert keys.key("second") is not None


def test_unknown_kids_refetch_at_most_once_per_period(
    path: Path, clock: Clock, first: SigningKey, second: SigningKey
) -> None:
    publish(path, first)
    keys = cache(path, clock, unknown_kid_refresh=10)
    assert keys.key("first") is not None
    assert keys.key("made-up") is None
    publish(path, first, second)
    clock.now += 9
    assert keys.key("second") is None
    clock.now += 1
    assert keys.key("second") is not None


def test_an_unknown_kid_right_after_a_fetch_does_not_fetch_again(
    path: Path, clock: Clock, first: SigningKey, second: SigningKey
) -> None:
    publish(path, first)
    keys = cache(path, clock, unknown_kid_refresh=10)
    assert keys.key("made-up") is None
    publish(path, first, second)
    # The first fetch was for a fresh set, so the unknown-kid refetch is still unspent.
    assert keys.key("second") is not None


def test_a_failed_fetch_is_unavailable_then_retried_after_a_pause(
    path: Path, clock: Clock, first: SigningKey
) -> None:
    keys = cache(path, clock, failure_backoff=1)
    with pytest.raises(AuthUnavailable):
        keys.key("first")
    publish(path, first)
    with pytest.raises(AuthUnavailable, match="failed moments ago"):
        keys.key("first")
    clock.now += 1
    assert keys.key("first") is not None


def test_expired_keys_are_not_used_when_the_refetch_fails(
    path: Path, clock: Clock, first: SigningKey
) -> None:
    publish(path, first)
    keys = cache(path, clock)
    assert keys.key("first") is not None
    path.unlink()
    clock.now += 300
    with pytest.raises(AuthUnavailable):
        keys.key("first")


def test_a_failed_unknown_kid_refetch_is_unavailable(
    path: Path, clock: Clock, first: SigningKey
) -> None:
    publish(path, first)
    keys = cache(path, clock)
    assert keys.key("first") is not None
    path.write_text("{not json")
    with pytest.raises(AuthUnavailable):
        keys.key("rotated")


def test_a_plain_path_works_as_well_as_a_file_url(
    path: Path, clock: Clock, first: SigningKey
) -> None:
    publish(path, first)
    assert JwksCache(str(path), ttl=300, clock=clock).key("first") is not None


def test_an_oversized_document_is_refused(path: Path, clock: Clock) -> None:
    path.write_bytes(b" " * (MAX_JWKS_BYTES + 1))
    with pytest.raises(AuthUnavailable, match="larger than"):
        cache(path, clock).key("first")


def test_only_asymmetric_signing_keys_with_a_kid_are_kept(
    first: SigningKey, second: SigningKey
) -> None:
    encryption = {**tokens.rsa_key("enc").public_jwk(), "use": "enc"}
    no_kid = {k: v for k, v in tokens.rsa_key("x").public_jwk().items() if k != "kid"}
    symmetric = {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"}
    mislabelled = {**first.public_jwk(), "kid": "rsa-as-ec", "alg": "ES256"}
    ps256 = {**first.public_jwk(), "kid": "pss", "alg": "PS256"}
    unknown_type = {"kty": "XYZ", "kid": "odd"}
    document = {
        "keys": [
            first.public_jwk(),
            second.public_jwk(),
            encryption,
            no_kid,
            symmetric,
            mislabelled,
            ps256,
            unknown_type,
            "not a key",
        ]
    }
    assert sorted(parse_jwks(json.dumps(document).encode())) == ["first", "second"]


@pytest.mark.parametrize(
    "document",
    [b"[]", b'{"keys": {}}', b'{"keys": []}', b'{"nokeys": 1}', b"\xff"],
    ids=["not an object", "keys not a list", "empty", "no keys", "not utf-8"],
)
def test_documents_without_usable_keys_are_errors(document: bytes) -> None:
    with pytest.raises(ValueError, match=r"JWKS|codec"):
        parse_jwks(document)
