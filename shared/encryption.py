"""Secrets at rest: the SMS gateway and SMTP settings documents, sealed with Fernet.

``HERALD_SECRET_KEY`` holds one or more Fernet keys, comma-separated. The first seals what
is saved; every one of them opens what is read, so a key is rotated by putting the new key
first, restarting, and running ``python -m shared.encryption rotate`` (which re-seals the
stored documents with the first key); the old key can then be dropped.

Without a key the documents are stored as they are, and every process says so at start-up.
A sealed document read without the key that sealed it is an error naming the variable,
never silently an empty configuration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import get_settings

log = logging.getLogger(__name__)

SEALED = "sealed"  # the only key of a stored sealed document


class SecretKeyError(RuntimeError):
    """``HERALD_SECRET_KEY`` is missing, malformed, or not the key a document was sealed with."""


class Sealer:
    """Seals and opens settings documents with the configured keys (none: stored as is)."""

    def __init__(self, keys: str | None) -> None:
        parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
        try:
            self._fernet = MultiFernet([Fernet(k) for k in parts]) if parts else None
        except ValueError:
            raise SecretKeyError(
                "HERALD_SECRET_KEY must be Fernet keys (python -m shared.encryption new-key)"
            ) from None
        self.keys = len(parts)

    def __repr__(self) -> str:
        return f"Sealer(keys={self.keys})"

    @property
    def active(self) -> bool:
        """Whether documents are sealed when saved."""
        return self._fernet is not None

    def seal(self, document: dict[str, Any]) -> dict[str, Any]:
        """What to store for ``document``."""
        if self._fernet is None:
            return document
        token = self._fernet.encrypt(json.dumps(document).encode())
        return {SEALED: token.decode()}

    def open(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The document a stored value holds (sealed or not)."""
        if set(stored) != {SEALED}:
            return stored
        if self._fernet is None:
            raise SecretKeyError("a stored document is sealed: set HERALD_SECRET_KEY to read it")
        try:
            opened: dict[str, Any] = json.loads(self._fernet.decrypt(stored[SEALED].encode()))
        except InvalidToken:
            raise SecretKeyError(
                "a stored document was sealed with a key HERALD_SECRET_KEY does not hold"
            ) from None
        return opened

    def reseal(self, stored: dict[str, Any]) -> dict[str, Any]:
        """``stored`` sealed again with the first key (for key rotation)."""
        return self.seal(self.open(stored))


@lru_cache(maxsize=1)
def sealer() -> Sealer:
    """This process's sealer, from ``HERALD_SECRET_KEY`` (read once)."""
    key = get_settings().secret_key
    return Sealer(key.get_secret_value() if key else None)


def announce() -> None:
    """Say at start-up how secrets are kept (and fail on a malformed key)."""
    if sealer().active:
        log.info("gateway and SMTP secrets are sealed at rest (%d key(s))", sealer().keys)
    else:
        log.warning("HERALD_SECRET_KEY is not set: gateway and SMTP secrets are stored unencrypted")


async def _rotate() -> int:
    from shared import config_store, db  # the command's own imports: not needed to seal

    pool = await db.open_database(get_settings().database_url)
    try:
        return await config_store.reseal_all(pool)
    finally:
        await pool.close()


def main(argv: list[str]) -> int:
    """``new-key``: print a fresh key; ``rotate``: re-seal the stored documents."""
    if argv == ["new-key"]:
        print(Fernet.generate_key().decode())
        return 0
    if argv == ["rotate"]:
        if not sealer().active:
            print("HERALD_SECRET_KEY is not set: nothing to seal with", file=sys.stderr)
            return 2
        print(f"re-sealed {asyncio.run(_rotate())} document(s) with the first key")
        return 0
    print("usage: python -m shared.encryption new-key | rotate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
