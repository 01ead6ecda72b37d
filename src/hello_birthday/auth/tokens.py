"""Token rules: the signature, issuer, audience and lifetime a token needs, and who it names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hello_birthday.auth.jwks import ALGORITHMS, JwksCache
from hello_birthday.domain import ValidationError, parse_username

if TYPE_CHECKING:
    import jwt


class AuthFailure(Exception):
    """A token was refused; reason is a metric label, description goes to the client."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    username_key: str | None
    admin: bool

    def may_write(self, key: str) -> bool:
        """Everyone may set their own date of birth; an admin may set anyone's."""
        return self.admin or self.username_key == key


class JwtVerifier:
    """Checks a token's signature, issuer, audience and lifetime, and reads who it names."""

    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        username_claim: str,
        admin_scope: str | None,
        leeway: float,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._username_claim = username_claim
        self._admin_scope = admin_scope
        self._leeway = leeway

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; AuthFailure or AuthUnavailable otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure("malformed", "The token is not a well-formed JWT.") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthFailure("algorithm", "The token's signing algorithm is not accepted.")
        kid = header.get("kid")
        key = self._keys.key(kid) if isinstance(kid, str) else None
        if key is None:
            raise AuthFailure("unknown_key", "The token is not signed by a known key.")
        claims = self._decode(token, key)
        if not self._audience_matches(claims):
            raise AuthFailure("audience", "The token is not meant for this service.")
        return Principal(username_key=self._username_key(claims), admin=self._is_admin(claims))

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                issuer=self._issuer,
                leeway=self._leeway,
                # The audience rule below also takes Cognito access tokens, which have none.
                options={
                    "require": ["exp", "iss"],
                    "verify_aud": False,
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailure("expired", "The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise AuthFailure("not_yet_valid", "The token is not valid yet.") from None
        except jwt.InvalidIssuerError:
            raise AuthFailure("issuer", "The token is not from the accepted issuer.") from None
        except jwt.InvalidAlgorithmError:
            raise AuthFailure(
                "algorithm", "The token's signing algorithm is not accepted."
            ) from None
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError):
            raise AuthFailure("signature", "The token's signature does not verify.") from None
        except jwt.PyJWTError:
            raise AuthFailure("malformed", "The token's claims are malformed.") from None
        return claims

    def _audience_matches(self, claims: Mapping[str, Any]) -> bool:
        if "aud" in claims:
            audience = claims["aud"]
            listed = [audience] if isinstance(audience, str) else audience
            return isinstance(listed, list) and self._audience in listed
        # Cognito access tokens name their app client in client_id and carry no aud.
        return claims.get("client_id") == self._audience and claims.get("token_use") == "access"

    def _username_key(self, claims: Mapping[str, Any]) -> str | None:
        named = claims.get(self._username_claim)
        if not isinstance(named, str):
            return None
        try:
            return parse_username(named).key
        except ValidationError:
            # Not a name the API accepts, so it can match no path.
            return None

    def _is_admin(self, claims: Mapping[str, Any]) -> bool:
        if self._admin_scope is None:
            return False
        scope = claims.get("scope")
        groups = claims.get("cognito:groups")
        return (isinstance(scope, str) and self._admin_scope in scope.split()) or (
            isinstance(groups, list) and self._admin_scope in groups
        )
