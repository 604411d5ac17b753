"""Settings endpoints: ``/config/sms`` (secrets never returned in clear), ``/config/company``."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from services.campaign.problems import Problem, field_error, from_validation, parse_body, read_json
from services.campaign.web import json_response, pool_of
from shared import config_store, secrets
from shared.models import CompanyInfo, SmsConfig
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
        web.get("/config/company", get_company),
        web.put("/config/company", put_company),
    ]
