"""Data shapes of the directory, campaigns and gateway settings, validated at the edges."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared import sms_batch

RecipientType = Literal["customer", "lead"]
PersonStatus = Literal["new", "active", "inactive", "blocked"]
Category = Literal["private", "company"]
BillingType = Literal["recurring", "prepaid"]
ServiceType = Literal["internet", "voice", "recurring", "bundle"]
SendTo = Literal["sms", "email", "portal", "portal_email"]

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
ShortText = Annotated[str, Field(max_length=255)]


def _one_line(value: str) -> str:
    # A CR or LF in an email header splits it (header injection); refused when the campaign
    # or the settings are written, not found by a sender retrying at send time.
    if "\r" in value or "\n" in value:
        raise ValueError("must be one line (no CR or LF)")
    return value


# Text that goes into an email header: a subject, a sender name.
HeaderText = Annotated[str, AfterValidator(_one_line)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Service(Strict):
    type: ServiceType
    tariff_id: Id


class Person(Strict):
    """A customer or lead record, as the billing system sends it."""

    id: Id
    login: ShortText = ""
    status: PersonStatus = "new"
    full_name: ShortText = ""
    email: ShortText = ""
    billing_email: ShortText = ""
    phone: Annotated[str, Field(max_length=500)] = ""
    category: Category = "private"
    location_id: Id | None = None
    partner_id: Id | None = None
    billing_type: BillingType = "recurring"
    services: Annotated[list[Service], Field(max_length=200)] = []
    attributes: dict[str, Any] = {}


# The record's fields in their stored order (services and attributes are JSON).
PERSON_FIELDS: tuple[str, ...] = tuple(Person.model_fields)


class Filters(Strict):
    """Who a campaign goes to. Every field is optional; they combine with AND."""

    login: ShortText | None = None
    status: Annotated[list[PersonStatus], Field(max_length=4)] | None = None
    full_name: ShortText | None = None
    email: ShortText | None = None
    billing_email: ShortText | None = None
    phone: ShortText | None = None
    category: Annotated[list[Category], Field(max_length=2)] | None = None
    location_ids: Annotated[list[Id], Field(max_length=10000)] | None = None
    partner_ids: Annotated[list[Id], Field(max_length=10000)] | None = None
    billing_type: BillingType | Literal["all"] | None = None
    tariff_ids: Annotated[list[Id], Field(max_length=10000)] | None = None
    services: Annotated[list[ServiceType], Field(max_length=4)] | None = None
    include_ids: Annotated[list[Id], Field(max_length=100000)] | None = None
    exclude_ids: Annotated[list[Id], Field(max_length=100000)] | None = None


class CampaignRequest(Strict):
    """The body of ``POST /campaigns`` (and of preview and test)."""

    recipient_type: RecipientType = "customer"
    filters: Filters = Filters()
    send_to: SendTo
    send_to_billing_email: bool = False
    subject: Annotated[HeaderText, Field(max_length=1000)] = ""
    message: Annotated[str, Field(max_length=20000)] | None = None
    template_id: Id | None = None
    attachments: Annotated[list[Id], Field(max_length=50)] = []
    attach_financial_documents: Annotated[
        list[Literal["invoice", "proforma_invoice", "payment"]], Field(max_length=3)
    ] = []
    only_if_financial_documents_exist: bool = False

    @field_validator("attach_financial_documents")
    @classmethod
    def _customers_only(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # Financial documents are a customer's (documents.customer_id); a lead has none, and a
        # lead sharing a customer's id must never get that customer's invoices.
        if value and info.data.get("recipient_type") == "lead":
            raise ValueError("financial documents attach only to customers, not to leads")
        return value

    @model_validator(mode="after")
    def _message_or_template(self) -> CampaignRequest:
        if self.template_id is None and not (self.message or "").strip():
            raise ValueError("give a message or a template_id")
        return self


BULKSMS_EAPI_URL = "https://bulksms.2way.co.za/eapi/submission/send_sms/2/2.0"
BULKSMS_EAPI_PAYLOAD = (
    "username=&password=&message=%MESSAGE%&msisdn=%TO_DIGITS%"
    "&concat_text_sms_max_parts=4&stop_dup_id=%ID%"
)


class SmsConfig(Strict):
    """The SMS gateway (``Config -> Main configuration -> SMS``); BulkSMS EAPI by default."""

    enabled: bool = True
    url: HttpUrl = HttpUrl(BULKSMS_EAPI_URL)
    method: Literal["GET", "POST"] = "POST"
    content_type: Literal["form", "json"] = "form"
    payload: Annotated[str, Field(max_length=4000)] = BULKSMS_EAPI_PAYLOAD
    headers: Annotated[dict[str, Annotated[str, Field(max_length=2000)]], Field(max_length=20)] = {}
    success_text: Annotated[str, Field(max_length=200)] = "0|IN_PROGRESS|"
    verify_ssl: bool = True
    expiry_days: Annotated[float, Field(gt=0, le=30)] = 2
    rate_per_second: Annotated[float, Field(gt=0, le=100000)] | None = None
    max_parts: Annotated[int, Field(ge=1, le=10)] = 4
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 15
    max_connections: Annotated[int, Field(ge=1, le=256)] = 8
    # Delivery reports are accepted at /callbacks/bulksms?secret=<this>; empty: refused.
    callback_secret: Annotated[str, Field(max_length=200)] = ""
    # BulkSMS EAPI only: up to this many first attempts go in one send_batch request (0: off;
    # not used while rate_per_second is set, which counts requests of one SMS).
    batch_size: Annotated[int, Field(ge=0, le=sms_batch.MAX_ROWS)] = 0

    @field_validator("batch_size")
    @classmethod
    def _batchable(cls, value: int, info: ValidationInfo) -> int:
        data = info.data
        if value and {"url", "method", "content_type", "payload", "headers"} <= data.keys():
            problem = sms_batch.batch_problem(
                url=str(data["url"]),
                method=data["method"],
                content_type=data["content_type"],
                payload=data["payload"],
                headers=data["headers"],
            )
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not name or any(c in name for c in " :\r\n") or "\n" in header or "\r" in header:
                raise ValueError(f"invalid header {name!r}")
        return value


class CompanyInfo(Strict):
    """The ``company`` variable of templates (the operator's own details)."""

    name: ShortText = ""
    email: ShortText = ""
    phone: ShortText = ""
    website: ShortText = ""
    address: Annotated[str, Field(max_length=1000)] = ""
    vat_number: ShortText = ""


class EmailConfig(Strict):
    """The SMTP server of the email channel (``Config -> Main configuration -> Email``)."""

    enabled: bool = True
    host: Annotated[str, Field(min_length=1, max_length=255)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "tls"] = "none"
    username: Annotated[str, Field(max_length=255)] = ""
    password: Annotated[str, Field(max_length=255)] = ""
    from_address: Annotated[str, Field(min_length=3, max_length=255)] = "noreply@example.net"
    from_name: Annotated[HeaderText, Field(max_length=255)] = ""
    # The original product's "emails limit per hour", shared by every sender process.
    limit_per_hour: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    expiry_days: Annotated[float, Field(gt=0, le=30)] = 2
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 30
    max_connections: Annotated[int, Field(ge=1, le=64)] = 4
    verify_tls: bool = True

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value or any(c in value for c in " \r\n<>"):
            raise ValueError("not an email address")
        return value
