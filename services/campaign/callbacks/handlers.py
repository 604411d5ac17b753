"""Gateway push endpoints: BulkSMS delivery reports (authenticated by the URL's secret)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from aiohttp import web

from services.campaign.http.params import STRING
from services.campaign.http.problems import Problem, field_error
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import PUBLIC
from services.campaign.http.web import pool_of
from shared import config_store, delivery


def _completed(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("/", "-"))
    except ValueError:
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except ValueError:
            return None  # unknown format: the report still counts, with the arrival time
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def bulksms_report(request: web.Request) -> web.Response:
    """``GET /callbacks/bulksms?secret=&msisdn=&batch_id=&status=&completed_time=``."""
    config = await config_store.load_sms(pool_of(request))
    given = request.query.get("secret", "")
    if (
        config is None
        or not config.callback_secret
        or not hmac.compare_digest(given.encode(), config.callback_secret.encode())
    ):
        raise Problem(403, "unknown or missing callback secret")
    msisdn = request.query.get("msisdn", "").strip()
    batch_id = request.query.get("batch_id", "").strip()
    status = request.query.get("status", "").strip()
    if not msisdn.lstrip("+").isdigit():
        raise field_error("msisdn", "must be a phone number")
    if not batch_id or len(batch_id) > 64:
        raise field_error("batch_id", "required, at most 64 characters")
    if not status.isdigit() or len(status) > 4:
        raise field_error("status", "must be a BulkSMS status code")
    completed = _completed(request.query.get("completed_time"))
    async with pool_of(request).acquire() as conn, conn.transaction():
        await delivery.store_report(conn, batch_id, msisdn, int(status), completed)
    # BulkSMS wants a 200 with a non-empty body, or it retries the push.
    return web.Response(text="OK")


# Outside bearer authentication: the URL's secret authenticates the gateway.
ROUTES = tagged(
    "callbacks",
    Route("GET", "/callbacks/bulksms", bulksms_report, PUBLIC, "BulkSMS delivery report push",
          None, media_type="text/plain", errors=(403,),
          params=(Param("secret", STRING, "the callback_secret of the SMS settings"),
                  Param("msisdn", STRING), Param("batch_id", STRING),
                  Param("status", STRING, "BulkSMS status code"),
                  Param("completed_time", STRING))),
)  # fmt: skip
