"""Credential documents are sealed in Postgres when HERALD_SECRET_KEY is set."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from shared import config_store
from shared.db import Pool
from shared.encryption import SEALED, Sealer, SecretKeyError

pytestmark = pytest.mark.timeout(30)

SMS = {
    "enabled": True,
    "url": "https://gateway.example/eapi/submission/send_sms/2/2.0",
    "payload": "username=isp&password=hunter2-secret&message=%MESSAGE%&msisdn=%TO%",
}


def _use(monkeypatch: pytest.MonkeyPatch, keys: str) -> None:
    sealer = Sealer(keys)
    monkeypatch.setattr(config_store, "sealer", lambda: sealer)


async def _raw(pool: Pool, name: str) -> object:
    return await pool.fetchval("SELECT value FROM settings WHERE name = $1", name)


async def test_sealed_at_rest_read_back_and_rotated(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _use(monkeypatch, old)
    await config_store.save(pool, config_store.SMS, SMS)
    await config_store.save(pool, config_store.COMPANY, {"name": "ISP"})

    raw = await _raw(pool, "sms")
    assert isinstance(raw, dict) and set(raw) == {SEALED}
    assert "hunter2" not in json.dumps(raw)
    assert await _raw(pool, "company") == {"name": "ISP"}  # no credentials: stored as is
    config = await config_store.load_sms(pool)
    assert config is not None and "hunter2-secret" in config.payload

    # Rotation: the new key first and the old one still listed; rotate re-seals with the new.
    _use(monkeypatch, f"{new},{old}")
    assert await config_store.reseal_all(pool) == 1
    _use(monkeypatch, new)
    config = await config_store.load_sms(pool)
    assert config is not None and "hunter2-secret" in config.payload
    _use(monkeypatch, old)
    with pytest.raises(SecretKeyError, match="does not hold"):
        await config_store.load_sms(pool)
