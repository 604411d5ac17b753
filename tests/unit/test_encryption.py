"""Sealing the credential documents at rest, and rotating the key."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from shared.encryption import SEALED, Sealer, SecretKeyError, main

DOC = {"url": "https://api.example/send", "payload": "username=u&password=hunter2"}


def test_without_a_key_documents_are_stored_as_they_are() -> None:
    sealer = Sealer(None)
    assert not sealer.active
    assert sealer.seal(DOC) is DOC
    assert sealer.open(DOC) is DOC


def test_a_sealed_document_holds_no_secret_and_opens_again() -> None:
    sealer = Sealer(Fernet.generate_key().decode())
    stored = sealer.seal(DOC)
    assert set(stored) == {SEALED}
    assert "hunter2" not in json.dumps(stored)
    assert sealer.open(stored) == DOC


def test_plain_documents_stored_before_the_key_still_open() -> None:
    assert Sealer(Fernet.generate_key().decode()).open(DOC) == DOC


def test_rotation_opens_with_the_old_key_and_seals_with_the_new() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = Sealer(old).seal(DOC)
    rotating = Sealer(f"{new}, {old}")
    resealed = rotating.reseal(stored)
    assert Sealer(new).open(resealed) == DOC
    with pytest.raises(SecretKeyError, match="does not hold"):
        Sealer(old).open(resealed)


def test_a_sealed_document_without_a_key_is_an_error_naming_the_variable() -> None:
    stored = Sealer(Fernet.generate_key().decode()).seal(DOC)
    with pytest.raises(SecretKeyError, match="HERALD_SECRET_KEY"):
        Sealer(None).open(stored)


@pytest.mark.parametrize("key", ["short", "x" * 44, f"{Fernet.generate_key().decode()},nope"])
def test_a_malformed_key_is_refused_at_start(key: str) -> None:
    with pytest.raises(SecretKeyError, match="Fernet keys"):
        Sealer(key)


def test_the_repr_shows_no_key() -> None:
    key = Fernet.generate_key().decode()
    assert repr(Sealer(key)) == "Sealer(keys=1)"


def test_new_key_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-key"]) == 0
    Fernet(capsys.readouterr().out.strip())
    assert main(["bogus"]) == 2
