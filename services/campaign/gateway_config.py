"""Settings endpoints: ``/config/sms`` (secrets never returned in clear), ``/config/company``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.campaign.problems import Problem, field_error, from_validation, parse_body, read_json
from services.campaign.web import json_response, pool_of, state_of
from shared import config_store, ledger, phones, secrets, sms_client
from shared.models import CompanyInfo, EmailConfig, SmsConfig
from shared.schemas import Outcome, OutcomeStatus
from shared.sms_client import Gateway
from shared.sms_gateway import validate_payload


async def _view(request: web.Request, config: SmsConfig, *, configured: bool) -> dict[str, Any]:
    data = secrets.masked(config.model_dump(mode="json"))
    data["configured"] = configured
    data["paused"] = await config_store.sms_pause(pool_of(request))
    return data


async def get_sms(request: web.Request) -> web.Response:
    """``GET /config/sms``: the gateway settings, credentials masked, and any pause."""
    stored = await config_store.load_sms(pool_of(request))
    return json_response(await _view(request, stored or SmsConfig(), configured=stored is not None))


async def resume_sms(request: web.Request) -> web.Response:
    """``POST /config/sms/resume``: lift a pause the gateway caused (auth, credit, quota)."""
    was_paused = await config_store.resume_sms(pool_of(request))
    return json_response({"resumed": was_paused})


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
        data = secrets.unmask(data, stored)
    try:
        config = SmsConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None
    if secrets.MASK in config.payload or any(secrets.MASK in v for v in config.headers.values()):
        raise field_error("payload", "contains a masked secret (***): send the credentials in full")
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
    await config_store.save(pool, config_store.SMS, config.model_dump(mode="json"))
    # A new configuration is the operator's fix for a paused gateway: try again.
    await config_store.resume_sms(pool)
    return json_response(await _view(request, config, configured=True))


class TestSms(BaseModel):
    """The body of ``POST /config/sms/test``."""

    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, Field(min_length=3, max_length=64)]


async def test_sms(request: web.Request) -> web.Response:
    """``POST /config/sms/test``: send ``TEST SMS! TIME: <now>`` at once and return the
    gateway's raw answer (credentials removed). Logged in the SMS log with type ``test``."""
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
        {
            "message_id": message_id,
            "to": number.e164,
            "message": text,
            "status": status,
            "http_status": call.http_status,
            "answer": call.body or "",
            "reason": call.verdict.reason,
        }
    )


def _email_view(config: EmailConfig, *, configured: bool) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    if data["password"]:
        data["password"] = secrets.MASK
    data["configured"] = configured
    return data


async def get_email(request: web.Request) -> web.Response:
    """``GET /config/email``: the SMTP settings, password masked."""
    stored = await config_store.load_email(pool_of(request))
    return json_response(_email_view(stored or EmailConfig(), configured=stored is not None))


async def put_email(request: web.Request) -> web.Response:
    """``PUT /config/email``: replace the SMTP settings; a masked password sent back is kept."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise field_error("body", "expected a JSON object")
    data.pop("configured", None)
    pool = pool_of(request)
    stored = await config_store.load(pool, config_store.EMAIL)
    if data.get("password") == secrets.MASK:
        data["password"] = (stored or {}).get("password", "")
    try:
        config = EmailConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None
    await config_store.save(pool, config_store.EMAIL, config.model_dump(mode="json"))
    return json_response(_email_view(config, configured=True))


async def get_company(request: web.Request) -> web.Response:
    """``GET /config/company``: the details templates see as ``company``."""
    stored = await config_store.load(pool_of(request), config_store.COMPANY)
    return json_response(CompanyInfo.model_validate(stored or {}).model_dump())


async def put_company(request: web.Request) -> web.Response:
    """``PUT /config/company``."""
    company = await parse_body(request, CompanyInfo)
    await config_store.save(pool_of(request), config_store.COMPANY, company.model_dump())
    return json_response(company.model_dump())


def routes() -> list[web.RouteDef]:
    """The settings routes."""
    return [
        web.get("/config/sms", get_sms),
        web.put("/config/sms", put_sms),
        web.post("/config/sms/resume", resume_sms),
        web.post("/config/sms/test", test_sms),
        web.get("/config/email", get_email),
        web.put("/config/email", put_email),
        web.get("/config/company", get_company),
        web.put("/config/company", put_company),
    ]
