"""The SMTP settings: ``/config/email`` (the password never returned in clear)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from services.campaign.audit import handlers as audit
from services.campaign.http.problems import field_error, from_validation, read_json
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import ADMIN, OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, pool_of
from services.campaign.settings.answers import EmailConfigView
from shared import config_store, secrets
from shared.models import EmailConfig


def _email_view(config: EmailConfig, *, configured: bool) -> EmailConfigView:
    data = config.model_dump()
    if data["password"]:
        data["password"] = secrets.MASK
    return EmailConfigView.model_validate({**data, "configured": configured})


# Where the password goes, and how: a change means the password must be typed again.
_DESTINATION = ("host", "port", "security")


def _carried_password(new: dict[str, Any], stored: dict[str, Any]) -> str:
    defaults = EmailConfig().model_dump()
    moved = [
        key
        for key in _DESTINATION
        if str(new.get(key, defaults[key])).strip().lower()
        != str(stored.get(key, defaults[key])).strip().lower()
    ]
    if moved and stored.get("password"):
        message = (
            f"the SMTP {moved[0]} changed: the masked password ({secrets.MASK}) cannot move"
            " with it, enter it again"
        )
        raise field_error("password", message)
    return str(stored.get("password", ""))


async def get_email(request: web.Request) -> web.Response:
    """``GET /config/email``: the SMTP settings, password masked."""
    stored = await config_store.load_email(pool_of(request))
    return json_response(_email_view(stored or EmailConfig(), configured=stored is not None))


async def put_email(request: web.Request) -> web.Response:
    """``PUT /config/email``: replace the SMTP settings; a masked password sent back is kept
    while host, port and security stay the same."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise field_error("body", "expected a JSON object")
    data.pop("configured", None)
    pool = pool_of(request)
    stored = await config_store.load(pool, config_store.EMAIL)
    if data.get("password") == secrets.MASK:
        data["password"] = _carried_password(data, stored or {})
    try:
        config = EmailConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None
    async with audit.change(request, "email_settings", "replace") as change:
        await config_store.save_in(change.conn, config_store.EMAIL, config.model_dump(mode="json"))
    return json_response(_email_view(config, configured=True))


ROUTES = tagged(
    "email and portal",
    Route("GET", "/config/email", get_email, Rule(OPERATOR, Scope.GLOBAL), "The SMTP settings",
          EmailConfigView),
    Route("PUT", "/config/email", put_email, Rule(ADMIN, Scope.GLOBAL),
          "Replace the SMTP settings", EmailConfigView, body=EmailConfig),
)  # fmt: skip
