"""The company details templates see as ``company``: ``/config/company``."""

from __future__ import annotations

from aiohttp import web

from services.campaign.http.problems import parse_body
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import ADMIN, OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, pool_of
from shared import config_store
from shared.models import CompanyInfo


async def get_company(request: web.Request) -> web.Response:
    """``GET /config/company``: the details templates see as ``company``."""
    stored = await config_store.load(pool_of(request), config_store.COMPANY)
    return json_response(CompanyInfo.model_validate(stored or {}))


async def put_company(request: web.Request) -> web.Response:
    """``PUT /config/company``."""
    company = await parse_body(request, CompanyInfo)
    await config_store.save(pool_of(request), config_store.COMPANY, company.model_dump())
    return json_response(company)


ROUTES = tagged(
    "settings",
    Route("GET", "/config/company", get_company, Rule(OPERATOR),
          "The company details templates see", CompanyInfo),
    Route("PUT", "/config/company", put_company, Rule(ADMIN, Scope.GLOBAL),
          "Replace the company details", CompanyInfo, body=CompanyInfo),
)  # fmt: skip
