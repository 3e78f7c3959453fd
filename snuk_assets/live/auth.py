"""Bearer tokens for the live API: who may see what.

``SNUK_API_TOKENS_FILE`` holds one token per line: ``ROLE TOKEN [NAME]`` (``#`` starts a
comment). Roles, each including the ones before it: ``viewer`` (floor and building aggregates),
``operator`` (per-room state and forecasts), ``admin`` (enabling actuation per room). Only the
SHA-256 of each token is kept in memory, and a presented token is compared with every stored
digest in constant time (``hmac.compare_digest``), so neither memory nor timing tells a token.
SHA-256 rather than a slow password hash: tokens are long random strings (``snuk token`` makes
32 bytes), not passwords, and a slow hash per request would only cost CPU.
"""

import hashlib
import hmac
import os
import pathlib
import secrets
from dataclasses import dataclass
from typing import Annotated, Self

from snuk_assets.environment import api_tokens_file

ROLES = ("viewer", "operator", "admin")
MIN_TOKEN_CHARS = 24


@dataclass(frozen=True)
class Principal:
    """Who presented a token: the name from the tokens file (for the audit) and the role."""

    name: str
    role: str

    def has(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenStore:
    """Digests of the accepted tokens and whose they are."""

    def __init__(self, entries: list[tuple[bytes, Principal]]):
        self._entries = list(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TokenStore({len(self)} tokens)"

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Self:
        entries: list[tuple[bytes, Principal]] = []
        seen: set[bytes] = set()
        text = pathlib.Path(path).read_text()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            where = f"{path}, line {number}"
            if len(parts) not in (2, 3):
                raise ValueError(f"{where}: expected 'ROLE TOKEN [NAME]'")
            role, token = parts[0], parts[1]
            if role not in ROLES:
                raise ValueError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
            if len(token) < MIN_TOKEN_CHARS:
                raise ValueError(
                    f"{where}: the token is shorter than {MIN_TOKEN_CHARS} characters; "
                    "make one with `snuk token`"
                )
            digest = _digest(token)
            if digest in seen:
                raise ValueError(f"{where}: the same token is listed twice")
            seen.add(digest)
            name = parts[2] if len(parts) == 3 else f"{role}-{digest.hex()[:8]}"
            entries.append((digest, Principal(name=name, role=role)))
        return cls(entries)

    @classmethod
    def from_tokens(cls, tokens: dict[str, Principal]) -> Self:
        """From ``{token: principal}`` (tests, embedding); only the digests are kept."""
        return cls([(_digest(token), principal) for token, principal in tokens.items()])

    @classmethod
    def from_env(cls) -> Self:
        """From ``SNUK_API_TOKENS_FILE``; without it, no token is accepted (all but /health
        answer 401)."""
        path = api_tokens_file()
        return cls.from_file(path) if path else cls([])

    def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        presented = _digest(token)
        found = None
        for digest, principal in self._entries:  # every entry, match or not: constant time
            if hmac.compare_digest(presented, digest):
                found = principal
        return found


def new_token_line(role: str, name: str) -> tuple[str, str]:
    """A fresh random token and its line for the tokens file."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name or any(ch.isspace() for ch in name) or "#" in name:
        raise ValueError(f"name {name!r} must be one word (no spaces or #)")
    token = secrets.token_urlsafe(32)
    return token, f"{role} {token} {name}\n"


def fastapi_guard(store: TokenStore):
    """``guard(role)``: a FastAPI dependency that returns the ``Principal`` or answers 401
    (no or unknown token, with ``WWW-Authenticate: Bearer``) or 403 (a role too low)."""
    from fastapi import Depends, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    bearer = HTTPBearer(auto_error=False)

    def guard(role: str):
        def dependency(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> Principal:
            challenge = {"WWW-Authenticate": "Bearer"}
            if credentials is None:
                raise HTTPException(401, "a bearer token is required", headers=challenge)
            principal = store.authenticate(credentials.credentials)
            if principal is None:
                raise HTTPException(401, "the token is not recognised", headers=challenge)
            if not principal.has(role):
                raise HTTPException(403, f"needs the {role} role; this token has {principal.role}")
            return principal

        return dependency

    return guard
