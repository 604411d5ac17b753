"""The SMS gateway settings: ``/config/sms`` (secrets never returned in clear), its pause, and
a test send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.campaign.audit import handlers as audit
from services.campaign.http.problems import (
    Problem,
    field_error,
    from_validation,
    parse_body,
    read_json,
)
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import ADMIN, OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, pool_of, state_of
from services.campaign.settings.answers import SmsConfigView, SmsResumed, SmsTestResult
from shared import config_store, ledger, phones, secrets, sms_client
from shared.models import SmsConfig
from shared.schemas import Outcome, OutcomeStatus
from shared.sms_client import Gateway
from shared.sms_request import validate_payload


async def _view(request: web.Request, config: SmsConfig, *, configured: bool) -> SmsConfigView:
    data: dict[str, Any] = secrets.masked(config.model_dump(mode="json"))
    data["configured"] = configured
    data["paused"] = await config_store.sms_pause(pool_of(request))
    return SmsConfigView.model_validate(data)


async def get_sms(request: web.Request) -> web.Response:
    """``GET /config/sms``: the gateway settings, credentials masked, and any pause."""
    stored = await config_store.load_sms(pool_of(request))
    return json_response(await _view(request, stored or SmsConfig(), configured=stored is not None))


async def resume_sms(request: web.Request) -> web.Response:
    """``POST /config/sms/resume``: lift a pause the gateway caused (auth, credit, quota)."""
    was_paused = await config_store.resume_sms(pool_of(request))
    return json_response(SmsResumed(resumed=was_paused))


async def put_sms(request: web.Request) -> web.Response:
    """``PUT /config/sms``: replace the settings; masked secrets sent back are kept."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise field_error("body", "expected a JSON object")
    data.pop("configured", None)
    data.pop("paused", None)
    pool = pool_of(request)
    stored = await config_store.load(pool, config_store.SMS)
    if stored is not None:
        try:
            data = secrets.unmask(data, stored)
        except secrets.SecretMoved as exc:
            raise field_error(exc.field, str(exc)) from None
    try:
        config = SmsConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None
    _no_mask_left(config)
    problems = validate_payload(
        config.method,
        config.content_type,
        config.payload,
        url=str(config.url),
        headers=config.headers,
    )
    if problems:
        raise Problem(
            422,
            "; ".join(problems),
            errors=[{"field": "payload", "message": p} for p in problems],
        )
    async with audit.change(request, "sms_settings", "replace") as change:
        await config_store.save_in(change.conn, config_store.SMS, config.model_dump(mode="json"))
    # A new configuration is the operator's fix for a paused gateway: try again.
    await config_store.resume_sms(pool)
    return json_response(await _view(request, config, configured=True))


def _no_mask_left(config: SmsConfig) -> None:
    # A masked value that did not match the stored one would be saved as the literal "***".
    shown = {"url": str(config.url), "payload": config.payload}
    shown |= {f"headers.{name}": value for name, value in config.headers.items()}
    for field, value in shown.items():
        if secrets.MASK in value:
            message = f"contains a masked secret ({secrets.MASK}): send the credentials in full"
            raise field_error(field, message)


# The test send's answer shows the start of what the gateway said, not pages of it.
ANSWER_SNIPPET = 500


def _snippet(text: str) -> str:
    # Cut after redaction: a secret cut in two by the limit would no longer match.
    return text if len(text) <= ANSWER_SNIPPET else text[: ANSWER_SNIPPET - 1] + "\u2026"


class TestSms(BaseModel):
    """The body of ``POST /config/sms/test``."""

    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, Field(min_length=3, max_length=64)]


async def test_sms(request: web.Request) -> web.Response:
    """``POST /config/sms/test``: send ``TEST SMS! TIME: <now>`` at once and return the
    gateway's status and the start of its answer (secrets removed). Logged in the SMS log
    with type ``test``."""
    body = await parse_body(request, TestSms)
    pool = pool_of(request)
    config = await config_store.load_sms(pool)
    if config is None:
        raise field_error("phone", "the SMS gateway is not configured", status=409)
    number = phones.normalise(body.phone, state_of(request).settings.default_region)
    if number.e164 is None:
        raise field_error("phone", number.error or "invalid phone number")
    now = datetime.now(UTC)
    text = f"TEST SMS! TIME: {now.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    message_id = await ledger.insert_test_message(
        pool,
        channel="sms",
        recipient=number.e164,
        text=text,
        expires_at=now + timedelta(days=config.expiry_days),
        sending=True,
    )
    gateway = Gateway(config)
    try:
        call = await sms_client.deliver(gateway, number.e164, text, message_id)
    finally:
        await gateway.close()
    status: OutcomeStatus = "sent" if call.verdict.verdict == "sent" else "error"
    outcome = Outcome(
        message_id=message_id,
        status=status,
        error=None if status == "sent" else call.verdict.reason,
        gateway_request=call.request,
        gateway_answer=call.answer,
        batch_id=call.verdict.batch_id,
        attempt=1,
        at=datetime.now(UTC),
    )
    await ledger.apply_outcomes(pool, [outcome])
    return json_response(
        SmsTestResult(
            message_id=message_id,
            to=number.e164,
            message=text,
            status="sent" if status == "sent" else "error",
            http_status=call.http_status,
            answer=_snippet(call.body or ""),
            # A BulkSMS reason quotes the answer's description, which can be as long.
            reason=_snippet(call.verdict.reason),
        )
    )


PUT_SMS = (
    "Masked secrets (***) sent back unchanged keep the stored ones, unless the URL's origin"
    " (scheme, host, port) changed: then they must be entered again (422 naming the field)."
    " `configured` and `paused` from a GET are ignored. Saving lifts a pause."
)
ROUTES = tagged(
    "settings",
    Route("GET", "/config/sms", get_sms, Rule(OPERATOR, Scope.GLOBAL), "The SMS gateway settings",
          SmsConfigView),
    Route("PUT", "/config/sms", put_sms, Rule(ADMIN, Scope.GLOBAL),
          "Replace the SMS gateway settings", SmsConfigView, body=SmsConfig,
          description=PUT_SMS),
    Route("POST", "/config/sms/resume", resume_sms, Rule(ADMIN, Scope.GLOBAL),
          "Resume a gateway that paused itself", SmsResumed),
    Route("POST", "/config/sms/test", test_sms, Rule(ADMIN, Scope.GLOBAL),
          "Send `TEST SMS! TIME: <now>`; the gateway's status and answer", SmsTestResult,
          body=TestSms, errors=(409,), rate_limit="campaigns"),
)  # fmt: skip
