"""A token issuer for the auth tests: real RSA and EC keys, a JWKS and a JWKS server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.test/pool"
AUDIENCE = "hello-client"
ADMIN_GROUP = "hello-admins"


@dataclass(frozen=True)
class SigningKey:
    """A private key with its kid and the algorithm it signs with."""

    kid: str
    algorithm: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, as an identity provider publishes it."""
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        assert isinstance(jwk, dict)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        """The public key in PEM form, the bytes an HS256 confusion attack signs with."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """A token with these claims, signed by this key."""
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )


def rsa_key(kid: str) -> SigningKey:
    """A fresh 2048-bit RSA key for RS256."""
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    """A fresh P-256 key for ES256."""
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    """The JWKS document publishing these keys."""
    return {"keys": [key.public_jwk() for key in keys]}


def claims(username: str = "alice", **overrides: Any) -> dict[str, Any]:
    """Claims of a valid ID-style token for username, good for five minutes from now."""
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"sub-{username}",
        "username": username,
        "iat": now,
        "exp": now + 300,
        **overrides,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], kid: str) -> str:
    """An alg=none token: no signature at all."""
    return jwt.encode(payload, "", algorithm="none", headers={"kid": kid})


def hs256_with_public_key(payload: dict[str, Any], key: SigningKey) -> str:
    """The algorithm-confusion attack: HMAC keyed with the public key's PEM bytes.

    PyJWT refuses to build this token, so it is assembled here by hand.
    """
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = _b64(json.dumps(payload).encode())
    signing_input = f"{header}.{body}".encode()
    signature = hmac.new(key.public_pem(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def tampered(token: str, **changes: Any) -> str:
    """The token with its payload edited and its original signature kept."""
    header, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return f"{header}.{_b64(json.dumps({**payload, **changes}).encode())}.{signature}"


@dataclass(frozen=True)
class Keyring:
    """The issuer's published keys, one of each kind, and a key nobody published."""

    rsa: SigningKey
    ec: SigningKey
    rogue: SigningKey

    @classmethod
    def generate(cls) -> Keyring:
        """Fresh keys."""
        return cls(rsa_key("rsa-1"), ec_key("ec-1"), rsa_key("rogue"))

    def jwks(self) -> dict[str, Any]:
        """The JWKS the issuer publishes."""
        return jwks(self.rsa, self.ec)


BAD_TOKEN_CASES = (
    "expired",
    "not yet valid",
    "issued in the future",
    "wrong issuer",
    "wrong audience",
    "id token without aud",
    "wrong key, known kid",
    "wrong key, unknown kid",
    "no kid",
    "alg none",
    "HS256 keyed with the public key",
    "ES256 token naming an RSA key",
    "tampered payload",
    "no expiry",
    "garbage",
    "empty",
)


def bad_tokens(keys: Keyring, username: str = "alice") -> dict[str, tuple[str, str]]:
    """Every token that must get a 401 on username's path: case -> (token, metric reason)."""
    now = int(time.time())
    good = claims(username)
    no_aud = {k: v for k, v in good.items() if k != "aud"}
    no_exp = {k: v for k, v in good.items() if k != "exp"}
    cases = {
        # Far enough out that the 30 s clock-skew leeway does not cover them.
        "expired": (keys.rsa.sign({**good, "iat": now - 600, "exp": now - 120}), "expired"),
        "not yet valid": (keys.rsa.sign({**good, "nbf": now + 120}), "not_yet_valid"),
        "issued in the future": (keys.rsa.sign({**good, "iat": now + 120}), "not_yet_valid"),
        "wrong issuer": (keys.rsa.sign({**good, "iss": "https://evil.test/pool"}), "issuer"),
        "wrong audience": (keys.rsa.sign({**good, "aud": "another-client"}), "audience"),
        # client_id stands in for aud only on Cognito access tokens.
        "id token without aud": (
            keys.rsa.sign({**no_aud, "client_id": AUDIENCE, "token_use": "id"}),
            "audience",
        ),
        "wrong key, known kid": (keys.rogue.sign(good, kid=keys.rsa.kid), "signature"),
        "wrong key, unknown kid": (keys.rogue.sign(good), "unknown_key"),
        "no kid": (jwt.encode(good, keys.rsa.private, algorithm="RS256"), "unknown_key"),
        "alg none": (unsigned(good, keys.rsa.kid), "algorithm"),
        "HS256 keyed with the public key": (hs256_with_public_key(good, keys.rsa), "algorithm"),
        "ES256 token naming an RSA key": (keys.ec.sign(good, kid=keys.rsa.kid), "algorithm"),
        "tampered payload": (
            tampered(keys.rsa.sign(claims("mallory")), username=username),
            "signature",
        ),
        "no expiry": (keys.rsa.sign(no_exp), "malformed"),
        "garbage": ("not.a.jwt", "malformed"),
        "empty": ("", "malformed"),
    }
    assert tuple(cases) == BAD_TOKEN_CASES
    return cases


class JwksServer:
    """Serves a JWKS document over HTTP on loopback; it can be switched to failing."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.available = True
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                if not server.available or self.path != "/jwks.json":
                    self.send_error(503 if not server.available else 404)
                    return
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is for the tests."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll keeps stop() quick: shutdown waits for the loop to look up.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The JWKS URL to configure."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks.json"

    def start(self) -> JwksServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@contextmanager
def jwks_server(document: dict[str, Any]) -> Iterator[JwksServer]:
    """A running JwksServer for the duration of a with block."""
    server = JwksServer(document).start()
    try:
        yield server
    finally:
        server.stop()


def server_environment(jwks: JwksServer, directory: Path, **extra: str) -> dict[str, str]:
    """Variables for a real server with HELLO_AUTH=jwt trusting this JWKS and these claims."""
    return {
        "HELLO_AUTH": "jwt",
        "HELLO_JWT_JWKS_URL": jwks.url,
        "HELLO_JWT_ISSUER": ISSUER,
        "HELLO_JWT_AUDIENCE": AUDIENCE,
        "HELLO_JWT_ADMIN_SCOPE": ADMIN_GROUP,
        "HELLO_SQLITE_PATH": str(directory / "hello.sqlite3"),
        "HELLO_DRAIN_SECONDS": "0.2",
        **extra,
    }
