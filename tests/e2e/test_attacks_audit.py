"""The audit trail (issue 13): who changed the gateway or email settings, tokens or templates,
and when; failed on the code before it (no GET /audit)."""

from __future__ import annotations

from typing import Any

import pytest

from demo.client import Api, sandbox_sms_config
from tests.e2e.test_attacks_tenants import SMTP
from tests.e2e.test_security import Tokens, admin, api_stack, tokens  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _trail(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["token_id"], e["kind"], e["action"], e["object_id"]) for e in answer["items"]]


async def test_changes_are_in_the_audit_trail(admin: Api, tokens: Tokens) -> None:  # noqa: F811
    made, operator = await tokens.make("operator")
    _, viewer = await tokens.make("viewer")
    status, template = await operator.post(
        "/templates", {"title": "t", "channel": "sms", "body": "Hi"}
    )
    assert status == 201, template
    update = {"title": "t2", "channel": "sms", "body": "Hi"}
    assert (await operator.put(f"/templates/{template['id']}", update))[0] == 200
    # Refused changes leave no row: the row is written in the change's transaction.
    assert (await operator.put("/templates/424242", update))[0] == 404
    assert (await admin.put("/config/sms", sandbox_sms_config("http://127.0.0.1:9")))[0] == 200
    assert (await admin.put("/config/email", SMTP))[0] == 200
    assert (await operator.delete(f"/templates/{template['id']}"))[0] == 204
    assert (await admin.delete(f"/tokens/{made['id']}"))[0] == 204

    status, trail = await admin.get("/audit")
    assert status == 200, trail
    tid, template_id = made["id"], str(template["id"])
    assert _trail(trail) == [
        (None, "token", "revoke", str(tid)),
        (tid, "template", "delete", template_id),
        (None, "email_settings", "replace", ""),
        (None, "sms_settings", "replace", ""),
        (tid, "template", "update", template_id),
        (tid, "template", "create", template_id),
        (None, "token", "create", str(tid + 1)),
        (None, "token", "create", str(tid)),
    ]
    assert trail["total"] == 8 and all(e["at"] for e in trail["items"])

    status, templates = await admin.get("/audit", params={"kind": "template", "limit": "2"})
    assert status == 200 and templates["total"] == 3
    assert [e["action"] for e in templates["items"]] == ["delete", "update"]
    status, problem = await admin.get("/audit", params={"kind": "people"})
    assert status == 422 and problem["errors"][0]["field"] == "kind"
    assert (await viewer.get("/audit"))[0] == 403
