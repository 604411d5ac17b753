"""Gateway secrets against the real API and the sandbox gateway: deny-by-default masking in
the settings answer, the SMS log and the test send's answer; a viewer never sees a secret; a
masked secret never moves to another gateway or SMTP host."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from tests.conftest import Isolated, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# None of these sits under a credential-like name (pass, token, key, auth...): they are
# secrets only because masking is deny-by-default.
USER = "ispco-sms-user7"
SECRETS = ("sandbox-secret", USER, "acct7", "Pw9xLk2q", "ZZtop99x", "Zq7Wm2Kp9Xv4", "K7q2W9m4Z8x1")


@pytest.fixture
def gateway_stack(isolated: Isolated, tmp_path: Path) -> Iterator[Stack]:
    """The sandbox gateway and the campaign API (test sends go from the API itself)."""
    with running_stack(isolated, tmp_path / "logs", only=("sandbox", "campaign")) as running:
        yield running


@pytest.fixture
async def admin(gateway_stack: Stack) -> AsyncIterator[Api]:
    client = Api(gateway_stack.api_url, gateway_stack.token)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def viewer(admin: Api) -> AsyncIterator[Api]:
    status, made = await admin.post("/tokens", {"role": "viewer", "name": "secrets viewer"})
    assert status == 201, made
    client = Api(admin.base_url, made["token"])
    try:
        yield client
    finally:
        await client.close()


def _config(stack: Stack) -> dict[str, Any]:
    base = stack.sandbox_url.replace("http://", "http://acct7:Pw9xLk2q@")
    return sandbox_sms_config(
        base,
        url=f"{base}/eapi/submission/send_sms/2/2.0?account=ZZtop99x",
        payload=f"username={USER}&password=sandbox-secret&message=%MESSAGE%&msisdn=%TO_DIGITS%"
        "&concat_text_sms_max_parts=4&stop_dup_id=%ID%&client_ref=Zq7Wm2Kp9Xv4",
        headers={"X-Client-Id": "K7q2W9m4Z8x1"},
    )


async def _sandbox_credentials(stack: Stack, username: str, password: str) -> None:
    sandbox = Api(stack.sandbox_url + "/_sandbox", None)
    try:
        creds = {"credentials": {"username": username, "password": password}}
        assert (await sandbox.put("/config", creds))[0] == 200
    finally:
        await sandbox.close()


def _leaks(document: Any) -> list[str]:
    return [secret for secret in SECRETS if secret in str(document)]


async def test_viewer_and_logs_never_see_a_secret(
    admin: Api, viewer: Api, gateway_stack: Stack
) -> None:
    status, shown = await admin.put("/config/sms", _config(gateway_stack))
    assert status == 200, shown
    status, sent = await admin.post("/config/sms/test", {"phone": "+27821110008"})
    assert status == 200 and sent["status"] == "sent", sent
    # Refused credentials: the sandbox echoes the username in its answer.
    await _sandbox_credentials(gateway_stack, "someone-else", "other")
    status, refused = await admin.post("/config/sms/test", {"phone": "+27821110007"})
    assert status == 200 and refused["status"] == "error", refused
    assert "invalid credentials" in refused["answer"], refused
    assert _leaks([shown, sent, refused]) == []

    # The settings answer: masked, harmless parameters and placeholders kept.
    status, view = await admin.get("/config/sms")
    assert status == 200 and _leaks(view) == [], view
    assert view["url"].startswith("http://***:***@127.0.0.1:") and "account=***" in view["url"]
    assert "&concat_text_sms_max_parts=4&stop_dup_id=%ID%&client_ref=***" in view["payload"]
    assert view["headers"] == {"X-Client-Id": "***"}
    assert (await viewer.get("/config/sms"))[0] == 403

    # The SMS log, stored requests and answers included, for the admin and for a viewer.
    for client in (admin, viewer):
        status, log = await client.get("/logs/sms")
        assert status == 200 and len(log["items"]) == 2, log
        for row in log["items"]:
            status, detail = await client.get(f"/logs/sms/{row['id']}")
            assert status == 200 and detail["gateway_request"], detail
            assert _leaks(detail) == [], detail
            assert "***" in detail["gateway_request"]


async def test_test_send_answer_is_a_short_snippet(admin: Api, gateway_stack: Stack) -> None:
    # The sandbox echoes an invalid dca in its answer: a 1500-character one.
    config = _config(gateway_stack)
    config["payload"] += "&dca=" + "x" * 1500
    assert (await admin.put("/config/sms", config))[0] == 200
    status, result = await admin.post("/config/sms/test", {"phone": "+27821110008"})
    assert status == 200 and result["status"] == "error", result
    assert "invalid dca" in result["answer"] and len(result["answer"]) <= 500, len(result["answer"])
    assert "invalid dca" in result["reason"] and len(result["reason"]) <= 500, len(result["reason"])
    assert _leaks(result) == []
    # The log keeps the whole (redacted) answer for the operator.
    status, detail = await admin.get(f"/logs/sms/{result['message_id']}")
    assert status == 200 and len(detail["gateway_answer"]) > 1500, detail


async def test_masked_secrets_never_move_to_a_new_host(admin: Api, gateway_stack: Stack) -> None:
    await _sandbox_credentials(gateway_stack, USER, "sandbox-secret")
    assert (await admin.put("/config/sms", _config(gateway_stack)))[0] == 200
    status, view = await admin.get("/config/sms")
    assert status == 200
    view.pop("configured"), view.pop("paused")
    # The same origin, an edited query and payload: the masked secrets stay.
    same = view | {
        "url": view["url"] + "&dca=7bit",
        "payload": view["payload"].replace("max_parts=4", "max_parts=3"),
    }
    status, saved = await admin.put("/config/sms", same)
    assert status == 200 and saved == view | same | {"configured": True, "paused": None}, saved
    status, sent = await admin.post("/config/sms/test", {"phone": "+27821110008"})
    assert status == 200 and sent["status"] == "sent", sent  # the stored password still works
    view = same

    moved_url = f"http://localhost:{gateway_stack.sandbox_port}/eapi/submission/send_sms/2/2.0"
    status, problem = await admin.put("/config/sms", view | {"url": moved_url})
    assert status == 422 and problem["errors"][0]["field"] == "payload", problem
    payload = "username=u&password=p&message=%MESSAGE%&msisdn=%TO_DIGITS%"
    status, problem = await admin.put("/config/sms", view | {"url": moved_url, "payload": payload})
    assert status == 422 and problem["errors"][0]["field"] == "headers.X-Client-Id", problem
    masked_userinfo = moved_url.replace("http://", "http://***:***@")
    fresh = {"url": masked_userinfo, "payload": payload, "headers": {}}
    status, problem = await admin.put("/config/sms", view | fresh)
    assert status == 422 and problem["errors"][0]["field"] == "url", problem
    status, saved = await admin.put("/config/sms", view | fresh | {"url": moved_url})
    assert status == 200 and saved["url"] == moved_url, saved

    smtp = {"host": "127.0.0.1", "port": 2525, "username": "mailer", "password": "smtp-pass-9"}
    assert (await admin.put("/config/email", smtp))[0] == 200
    status, kept = await admin.put("/config/email", smtp | {"password": "***"})
    assert status == 200 and kept["password"] == "***", kept
    for change in ({"host": "mail.attacker.example"}, {"port": 2526}, {"security": "tls"}):
        status, problem = await admin.put("/config/email", smtp | change | {"password": "***"})
        assert status == 422 and problem["errors"][0]["field"] == "password", (change, problem)
    status, moved = await admin.put("/config/email", smtp | {"host": "localhost"})
    assert status == 200 and moved["host"] == "localhost", moved
