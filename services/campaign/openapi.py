"""The OpenAPI 3.1 document of the API, built from the request models and a table of routes.

Request bodies come from the pydantic models (``model_json_schema``); answers are JSON schemas
written here after what the handlers return. ``GET /openapi.json`` serves the document.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.campaign import (
    access,
    directory,
    domain,
    files,
    history,
    limits,
    logs,
    problems,
    tokens,
)
from services.campaign import web as helpers
from services.campaign.campaigns import TestRequest
from services.campaign.files import Document
from services.campaign.gateway_config import TestSms
from services.campaign.templates_api import TemplateBody
from services.campaign.tokens import TokenRequest
from shared.models import CampaignRequest, CompanyInfo, EmailConfig, Filters, Person, SmsConfig
from shared.periods import PERIODS

Schema = dict[str, Any]

SERVER_URL = "/api/v1"
REF = "#/components/schemas/{model}"
JSON = "application/json"

# --------------------------------------------------------------------------------------------
# Schema helpers
# --------------------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": REF.format(model=name)}


def obj(properties: dict[str, Schema], *, optional: Iterable[str] = ()) -> Schema:
    """An object with these properties, all required except ``optional``."""
    skip = set(optional)
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in skip],
    }


def nullable(schema: Schema) -> Schema:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def enum(values: Iterable[str]) -> Schema:
    """One of these strings."""
    return {"type": "string", "enum": list(values)}


def page_of(item: Schema) -> Schema:
    """A list answer: ``{"items": [...], "total": N}``."""
    return obj(
        {
            "items": {"type": "array", "items": item},
            "total": {"type": "integer", "minimum": 0, "description": "rows matching, all pages"},
        }
    )


INTEGER: Schema = {"type": "integer"}
ID: Schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
MESSAGE_STATUS = enum(logs.STATUSES)
CHANNEL = enum(("sms", "email", "portal"))


def _answer_of(model_schema: Schema, extra: dict[str, Schema], drop: Iterable[str] = ()) -> Schema:
    """A model's schema as an answer: every field present (no defaults), plus ``extra``."""
    properties = {
        name: {k: v for k, v in field.items() if k not in ("default", "title")}
        for name, field in model_schema["properties"].items()
        if name not in set(drop)
    }
    answer = obj({**properties, **extra})
    if "description" in model_schema:
        answer["description"] = model_schema["description"]
    return answer


def _answers(models: dict[str, Schema]) -> dict[str, Schema]:
    """The answer schemas, given the request models' component schemas."""
    campaign = obj(
        {
            "id": ID,
            "recipient_type": enum(("customer", "lead")),
            "filters": ref("Filters"),
            "send_to": copy.deepcopy(models["CampaignRequest"]["properties"]["send_to"]),
            "subject": STRING,
            "message": {"type": "string", "description": "the message template (Jinja2)"},
            "template_id": nullable(ID),
            "status": enum(history.CAMPAIGN_STATUSES),
            "failed_reason": {**nullable(STRING), "description": "why a failed campaign failed"},
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "started_at": nullable(DATE_TIME),
            "finished_at": nullable(DATE_TIME),
            "resolved_at": {
                **nullable(DATE_TIME),
                "description": "when every recipient was expanded into messages",
            },
            "recipients_total": {
                "type": "integer",
                "minimum": 0,
                "description": "matching people",
            },
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "messages: one per phone number or address",
            },
            "counts": {
                "type": "object",
                "description": "messages per status",
                "propertyNames": MESSAGE_STATUS,
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "send_to_billing_email": BOOLEAN,
            "attachments": {"type": "array", "items": ID},
            "attach_financial_documents": {
                "type": "array",
                "items": enum(("invoice", "proforma_invoice", "payment")),
            },
            "only_if_financial_documents_exist": BOOLEAN,
        }
    )
    history_item = copy.deepcopy(campaign)
    del history_item["properties"]["filters"]
    history_item["required"].remove("filters")
    history_item["properties"]["title"] = {
        "type": "string",
        "description": "the subject, or the message's first line",
    }
    history_item["required"].append("title")

    sms_log = obj(
        {
            "id": ID,
            "recipient": {"type": "string", "description": "the phone number (E.164)"},
            "type": enum(("message", "test")),
            "status": MESSAGE_STATUS,
            "added_at": DATE_TIME,
            "sent_at": nullable(DATE_TIME),
            "customer_id": nullable(ID),
            "recipient_kind": nullable(enum(("customer", "lead"))),
            "campaign_id": nullable(ID),
            "error": nullable(STRING),
            "attempts": {"type": "integer", "minimum": 0},
            "delivery_status": {
                **nullable(enum(("pending", "delivered", "failed", "expired", "unknown"))),
                "description": "from the gateway's delivery report, when one arrived",
            },
            "delivered_at": nullable(DATE_TIME),
        }
    )
    sms_log_detail = copy.deepcopy(sms_log)
    sms_log_detail["properties"].update(
        text=STRING,
        gateway_request={**nullable(STRING), "description": "credentials removed"},
        gateway_answer={**nullable(STRING), "description": "credentials removed"},
        batch_id=nullable(STRING),
        expires_at=DATE_TIME,
        subject=STRING,
        attachments={"type": "array", "items": ID},
        documents={"type": "array", "items": ID},
    )
    sms_log_detail["required"] = list(sms_log_detail["properties"])
    attachment = obj(
        {
            "id": ID,
            "filename": STRING,
            "content_type": {"type": "string", "description": "sniffed from the content"},
            "size": {"type": "integer", "minimum": 1},
        }
    )
    portal_message = obj(
        {
            "id": ID,
            "subject": STRING,
            "body": STRING,
            "created_at": DATE_TIME,
            "read_at": nullable(DATE_TIME),
            "message_id": ID,
        }
    )

    sent_message = obj(
        {
            "id": ID,
            "channel": CHANNEL,
            "to": STRING,
            "subject": STRING,
            "text": STRING,
            "status": MESSAGE_STATUS,
            "error": nullable(STRING),
            "sent_at": nullable(DATE_TIME),
        }
    )
    template = obj(
        {
            "id": ID,
            **_answer_of(models["TemplateBody"], {})["properties"],
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        }
    )
    person = _answer_of(models["Person"], {"updated_at": DATE_TIME})
    pause = obj(
        {"reason": STRING, "since": DATE_TIME, "until": nullable(DATE_TIME)},
    )
    return {
        "Problem": {
            **obj(
                {
                    "type": {"type": "string", "format": "uri"},
                    "title": STRING,
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "detail": STRING,
                    "errors": {
                        "type": "array",
                        "description": "one entry per bad field",
                        "items": obj({"field": STRING, "message": STRING}),
                    },
                }
            ),
            "description": "RFC 9457 problem details (application/problem+json)",
        },
        "PersonRecord": person,
        "PersonList": page_of(ref("PersonRecord")),
        "UpsertResult": obj({"upserted": {"type": "integer", "minimum": 0}}),
        "SmsConfigView": {
            **_answer_of(
                models["SmsConfig"],
                {
                    "configured": {
                        "type": "boolean",
                        "description": "false: never saved, these are the defaults",
                    },
                    "paused": {
                        **nullable(pause),
                        "description": "set when the gateway refused everything"
                        " (authentication, credit, quota) until resumed",
                    },
                },
            ),
            "description": "The SMS gateway settings; credentials in payload, url and headers"
            " are shown as ***.",
        },
        "SmsResumed": obj({"resumed": {"type": "boolean", "description": "it was paused"}}),
        "SmsTestResult": obj(
            {
                "message_id": ID,
                "to": STRING,
                "message": STRING,
                "status": enum(("sent", "error")),
                "http_status": nullable(INTEGER),
                "answer": {"type": "string", "description": "the gateway's raw answer"},
                "reason": STRING,
            }
        ),
        "Template": template,
        "TemplateList": page_of(ref("Template")),
        "Campaign": campaign,
        "CampaignHistoryItem": history_item,
        "CampaignList": page_of(ref("CampaignHistoryItem")),
        "Preview": obj(
            {
                "recipients_total": {"type": "integer", "minimum": 0},
                "recipients": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": ID,
                            "login": STRING,
                            "full_name": STRING,
                            "email": STRING,
                            "phone": STRING,
                        }
                    ),
                },
                "message": {
                    **nullable(STRING),
                    "description": "rendered for the first recipient (null when none)",
                },
                "subject": STRING,
                "attachments": {"type": "array", "items": attachment},
                "encoding": enum(("GSM-7", "UCS-2")),
                "characters": {"type": "integer", "minimum": 0},
                "parts": {"type": "integer", "minimum": 0},
            },
            optional=("encoding", "characters", "parts"),
        ),
        "TestQueued": obj({"message_id": ID, "to": STRING, "message": STRING}),
        "Attachment": attachment,
        "PortalMessage": portal_message,
        "PortalMessageList": page_of(ref("PortalMessage")),
        "EmailConfigView": {
            **_answer_of(
                models["EmailConfig"],
                {"configured": {"type": "boolean", "description": "false: never saved"}},
            ),
            "description": "The SMTP settings; the password is shown as ***.",
        },
        "Recipient": obj(
            {
                "id": {**ID, "description": "the customer's (or lead's) id"},
                "login": nullable(STRING),
                "full_name": nullable(STRING),
                "to": STRING,
                "status": MESSAGE_STATUS,
                "error": nullable(STRING),
                "sent_at": nullable(DATE_TIME),
                "message_id": ID,
                "channel": CHANNEL,
            }
        ),
        "RecipientList": page_of(ref("Recipient")),
        "RecipientMessage": obj(
            {
                "campaign_id": ID,
                "customer_id": ID,
                "subject": STRING,
                "message": STRING,
                "messages": {"type": "array", "items": sent_message},
            }
        ),
        "SmsLogEntry": sms_log,
        "SmsLogDetail": sms_log_detail,
        "SmsLogList": page_of(ref("SmsLogEntry")),
        "DeadLetter": obj(
            {
                "id": ID,
                "source": {"type": "string", "description": "routing key it was sent with"},
                "reason": STRING,
                "body": {"type": "string", "description": "the message body (bytea escape)"},
                "headers": {"type": "object"},
                "received_at": DATE_TIME,
            }
        ),
        "DeadLetterList": page_of(ref("DeadLetter")),
        "Health": obj({"status": {"const": "ok"}}),
        "Ready": obj(
            {
                "status": enum(("ok", "unavailable")),
                "checks": {
                    "type": "object",
                    "additionalProperties": STRING,
                    "properties": {"database": STRING, "broker": STRING},
                },
            }
        ),
        **tokens.answer_schemas(),
    }


# --------------------------------------------------------------------------------------------
# The operations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A query or header parameter."""

    name: str
    schema: Schema
    description: str = ""
    where: Literal["query", "header"] = "query"


@dataclass(frozen=True)
class Op:
    """One operation: what it takes, what it answers, which problems it may return.

    Implied problems are added when the document is built: 401 unless public, 404 when the
    path has a parameter, 400/413/415/422 with a JSON body, 422 with query parameters.
    """

    route: str  # "METHOD /path", the path an OpenAPI template relative to SERVER_URL
    summary: str
    answer: str | None  # component schema of the success answer; None: no JSON schema
    status: int = 200
    body: type[BaseModel] | None = None
    many: int = 0  # >0: the body is a JSON array of up to this many ``body``s
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False
    media_type: str = JSON
    description: str = ""
    extra: tuple[tuple[int, str, str], ...] = ()  # other answers: (status, schema, description)
    multipart: bool = False  # the body is a multipart/form-data file upload
    tag: str = ""

    @property
    def method(self) -> str:
        return self.route.partition(" ")[0]

    @property
    def path(self) -> str:
        return self.route.partition(" ")[2]


def tagged(tag: str, *ops: Op) -> tuple[Op, ...]:
    """The operations of one group."""
    return tuple(dataclasses.replace(op, tag=tag) for op in ops)


LIMIT = Param(
    "limit", {"type": "integer", "minimum": 1, "maximum": helpers.MAX_PAGE, "default": 50}
)
OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0})
PAGE = (LIMIT, OFFSET)
FROM = Param("from", DATE_TIME, "from this instant (inclusive; ISO 8601 with a zone)")
TO = Param("to", DATE_TIME, "until this instant (exclusive; ISO 8601 with a zone)")
STATUS = Param("status", MESSAGE_STATUS)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": domain.MAX_IDEMPOTENCY_KEY},
    "the same key returns the same campaign; reused with another body: 422",
    "header",
)
CAMPAIGN_STATUS = Param("status", enum(history.CAMPAIGN_STATUSES), "removed: only when asked")
PERIOD = Param("period", enum(PERIODS), "custom: from and/or to")
LOG_FILTERS = (
    FROM,
    TO,
    Param("type", enum(("message", "test"))),
    STATUS,
    Param("customer_id", ID),
    Param("campaign_id", ID),
)
PUT_SMS = (
    "Masked credentials (***) sent back unchanged keep the stored ones; `configured` and"
    " `paused` from a GET are ignored. Saving lifts a pause."
)


def _directory(collection: str, kind: str) -> tuple[Op, ...]:
    return (
        Op(
            f"PUT /{collection}",
            f"Insert or replace {collection} by id",
            "UpsertResult",
            body=Person,
            many=directory.MAX_BATCH,
        ),
        Op(f"GET /{collection}", f"List {collection}, by id", "PersonList", params=PAGE),
        Op(f"GET /{collection}/{{id}}", f"One {kind}", "PersonRecord"),
        Op(f"DELETE /{collection}/{{id}}", f"Delete a {kind}", None, 204),
    )


OPERATIONS: tuple[Op, ...] = (
    *tagged("directory", *_directory("customers", "customer"), *_directory("leads", "lead")),
    *tagged(
        "campaigns",
        Op("POST /campaigns/preview", "Who would get it, and the first one's message", "Preview",
           body=CampaignRequest, params=(Param("limit", LIMIT.schema, "recipients listed"),)),
        Op("POST /campaigns/test", "Send one test message (first recipient's rendering)",
           "TestQueued", 202, body=TestRequest),
        Op("POST /campaigns", "Create a campaign", "Campaign", 202, body=CampaignRequest,
           params=(IDEMPOTENCY_KEY,)),
        Op("GET /campaigns", "History, newest first", "CampaignList",
           params=(*PAGE, CAMPAIGN_STATUS, PERIOD, FROM, TO)),
        Op("GET /campaigns/{id}", "A campaign with its counts per status", "Campaign"),
        Op("GET /campaigns/{id}/recipients", "One row per message", "RecipientList",
           params=(*PAGE, STATUS)),
        Op("GET /campaigns/{id}/recipients/{customer_id}/message", "What one recipient got",
           "RecipientMessage"),
        Op("POST /campaigns/{id}/cancel", "Stop what is not sent yet", "Campaign", errors=(409,)),
        Op("DELETE /campaigns/{id}", "Remove it (hidden from history)", "Campaign"),
        Op("POST /campaigns/{id}/pause", "Hold its messages", "Campaign", errors=(409,)),
        Op("POST /campaigns/{id}/resume", "Go on after a pause", "Campaign", errors=(409,)),
    ),
    *tagged(
        "templates",
        Op("GET /templates", "List templates", "TemplateList",
           params=(*PAGE, Param("channel", CHANNEL))),
        Op("POST /templates", "Create a template", "Template", 201, body=TemplateBody),
        Op("GET /templates/{id}", "One template", "Template"),
        Op("PUT /templates/{id}", "Replace a template", "Template", body=TemplateBody),
        Op("DELETE /templates/{id}", "Delete a template", None, 204),
    ),
    *tagged(
        "settings",
        Op("GET /config/sms", "The SMS gateway settings", "SmsConfigView"),
        Op("PUT /config/sms", "Replace the SMS gateway settings", "SmsConfigView",
           body=SmsConfig, description=PUT_SMS),
        Op("POST /config/sms/resume", "Resume a gateway that paused itself", "SmsResumed"),
        Op("POST /config/sms/test", "Send `TEST SMS! TIME: <now>`; the gateway's raw answer",
           "SmsTestResult", body=TestSms, errors=(409,)),
        Op("GET /config/company", "The company details templates see", "CompanyInfo"),
        Op("PUT /config/company", "Replace the company details", "CompanyInfo",
           body=CompanyInfo),
    ),
    *tagged(
        "logs",
        Op("GET /logs/sms", "SMS log, newest first", "SmsLogList", params=(*PAGE, *LOG_FILTERS)),
        Op("GET /logs/sms/{id}", "One SMS: text, attempts, gateway answer", "SmsLogDetail"),
        Op("GET /logs/email", "Email log, newest first", "SmsLogList",
           params=(*PAGE, *LOG_FILTERS)),
        Op("GET /logs/email/{id}", "One email: subject, body, files, SMTP answer",
           "SmsLogDetail"),
        Op("GET /dead-letters", "Messages no service could process, with why", "DeadLetterList",
           params=PAGE),
    ),
    *tagged(
        "email and portal",
        Op("GET /config/email", "The SMTP settings", "EmailConfigView"),
        Op("PUT /config/email", "Replace the SMTP settings", "EmailConfigView", body=EmailConfig),
        Op("POST /attachments", "Upload one file (multipart field `file`)", "Attachment", 201,
           multipart=True),
        Op("PUT /documents", "Bulk upsert of financial documents (PDF in base64)",
           "UpsertResult", body=Document, many=files.MAX_DOCUMENTS),
        Op("GET /portal/customers/{id}/messages", "A customer's portal inbox, newest first",
           "PortalMessageList", params=PAGE),
        Op("POST /portal/customers/{id}/messages/{message_id}/read", "Mark a message read",
           "PortalMessage"),
    ),
    *tagged(
        "tokens",
        Op("POST /tokens", "Create an API token (its secret is shown only here)", "TokenCreated",
           201, body=TokenRequest),
        Op("GET /tokens", "List API tokens (no secrets)", "TokenList", params=PAGE),
        Op("DELETE /tokens/{id}", "Revoke a token", None, 204,
           description="Other API processes may accept it for up to"
           f" {tokens.CACHE_SECONDS:g} seconds more (token lookups are cached)."),
    ),
    *tagged(
        "callbacks",
        Op("GET /callbacks/bulksms", "BulkSMS delivery report push", None, public=True,
           media_type="text/plain", errors=(403,),
           params=(Param("secret", STRING, "the callback_secret of the SMS settings"),
                   Param("msisdn", STRING), Param("batch_id", STRING),
                   Param("status", STRING, "BulkSMS status code"),
                   Param("completed_time", STRING))),
    ),
    *tagged(
        "operations",
        Op("GET /health", "The process answers", "Health", public=True),
        Op("GET /ready", "Database and broker reachable", "Ready", public=True,
           extra=((503, "Ready", "database or broker unreachable"),)),
        Op("GET /metrics", "Prometheus metrics", None, public=True, media_type="text/plain"),
        Op("GET /openapi.json", "This document", None, public=True),
    ),
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------

_PATH_PARAM = re.compile(r"\{(\w+)\}")
_DESCRIPTIONS = {204: "done, no content", 201: "created", 202: "accepted", 200: "OK"}


def _problem(status: int) -> Schema:
    return {"$ref": f"#/components/responses/Problem{status}"}


def _operation(op: Op) -> Schema:
    name = re.sub(r"\W+", "_", f"{op.method.lower()}{op.path}").strip("_")
    operation: Schema = {
        "operationId": name,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        operation["description"] = op.description
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": ID}
        for p in _PATH_PARAM.findall(op.path)
    ]
    parameters += [
        {"name": p.name, "in": p.where, "required": False, "schema": p.schema}
        | ({"description": p.description} if p.description else {})
        for p in op.params
    ]
    if parameters:
        operation["parameters"] = parameters
    errors = set(op.errors)
    if op.multipart:
        upload = {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
            "required": ["file"],
        }
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": upload}},
        }
        errors |= {400, 413, 415, 422}
    if op.body is not None:
        body = ref(op.body.__name__)
        if op.many:
            body = {"type": "array", "maxItems": op.many, "items": body}
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
        errors |= {400, 413, 415, 422}
    if op.params:
        errors.add(422)
    if "{" in op.path:
        errors.add(404)
    if op.public:
        operation["security"] = []
    else:
        errors |= {401, 403}
        rule = access.RULES.get((op.method, op.path))
        if rule is not None:
            operation["x-herald-roles"] = [r for r in access.ROLES if r in rule.roles]
    if (op.method, op.path) in limits.RATE_LIMITED:
        errors.add(429)
    success: Schema = {"description": _DESCRIPTIONS[op.status]}
    if op.answer is not None:
        success["content"] = {op.media_type: {"schema": ref(op.answer)}}
    elif op.status != 204:
        schema: Schema = {"type": "string"} if op.media_type != JSON else {"type": "object"}
        success["content"] = {op.media_type: {"schema": schema}}
    responses: Schema = {str(op.status): success}
    for status, answer, description in op.extra:
        responses[str(status)] = {
            "description": description,
            "content": {JSON: {"schema": ref(answer)}},
        }
    for status in sorted(errors):
        responses[str(status)] = _problem(status)
    responses["5XX"] = _problem(500)
    operation["responses"] = responses
    return operation


def _problem_responses(statuses: Iterable[int]) -> Schema:
    return {
        f"Problem{status}": {
            "description": problems._TITLES.get(status, "Error"),
            "content": {problems.CONTENT_TYPE: {"schema": ref("Problem")}},
        }
        for status in sorted(statuses)
    }


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API (built once)."""
    bodies = {op.body for op in OPERATIONS if op.body is not None}
    wanted: set[type[BaseModel]] = {*bodies, Person, SmsConfig, CompanyInfo, Filters, EmailConfig}
    models = sorted(wanted, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Schema] = dict(top.get("$defs", {}))
    answers = _answers(schemas)
    clash = set(answers) & set(schemas)
    assert not clash, f"answer schemas named like request models: {clash}"
    schemas.update(answers)

    paths: dict[str, dict[str, Schema]] = {}
    for op in OPERATIONS:
        methods = paths.setdefault(op.path, {})
        assert op.method.lower() not in methods, f"twice: {op.method} {op.path}"
        methods[op.method.lower()] = _operation(op)
    used = {
        int(answer["$ref"].rpartition("Problem")[2])
        for methods in paths.values()
        for operation in methods.values()
        for answer in operation["responses"].values()
        if "$ref" in answer
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald API",
            "version": "1",
            "description": "Mass messaging (SMS, email, customer portal). Errors are"
            " application/problem+json; lists take limit and offset and answer"
            ' {"items": [...], "total": N}. /health, /ready and /metrics are also served'
            " at the root, for probes.",
        },
        "servers": [{"url": SERVER_URL}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": tag}
            for tag in dict.fromkeys(op.tag for op in OPERATIONS)  # first-seen order
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "responses": _problem_responses(used),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "HERALD_API_TOKEN (the bootstrap admin token) or a"
                    " token made with POST /tokens",
                }
            },
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    """``GET /openapi.json``: this API's OpenAPI 3.1 document."""
    return helpers.json_response(document())


def routes() -> list[web.RouteDef]:
    """The document's route."""
    return [web.get("/openapi.json", openapi_json)]
