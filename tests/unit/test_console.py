"""The console's pure parts: origin and CSRF checks, what a principal's pages show."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from services.campaign.console import render, sessions
from services.campaign.console import routes as console
from services.campaign.console.screens.registry import SCREENS
from services.campaign.http import routes
from services.campaign.http.access import Principal
from services.campaign.http.app import ROUTES
from services.campaign.http.problems import Problem
from tests.unit.test_access import _app as real_app  # the application with fake token lookups

SESSION = sessions.Session(b"x" * 32, "csrf-token")


def _app() -> web.Application:
    app = web.Application()
    routes.register(app, ROUTES)
    console.register(app)
    return app


APP = _app()


def request(method: str = "POST", **headers: str) -> object:
    return make_mocked_request(method, "/api/v1/campaigns", headers={"Host": "isp:8080", **headers})


@pytest.mark.parametrize(
    ("headers", "same"),
    [
        ({"Origin": "http://isp:8080"}, True),
        ({"Referer": "http://isp:8080/mass-sending/create"}, True),
        ({"Origin": "http://evil.example"}, False),
        ({"Origin": "https://isp:8080"}, True),  # TLS ended by a proxy in front
        ({"Origin": "http://isp:8081"}, False),
        ({"Origin": "http://isp"}, False),
        ({"Origin": "null"}, False),
        ({}, False),
    ],
)
def test_same_origin(headers: dict[str, str], same: bool) -> None:
    assert sessions.same_origin(request(**headers)) is same  # type: ignore[arg-type]


def test_csrf_needs_the_token_and_the_origin() -> None:
    good = {"X-CSRF-Token": "csrf-token", "Origin": "http://isp:8080"}
    sessions.check_csrf(request(**good), SESSION)  # type: ignore[arg-type]
    for bad in (
        {"Origin": "http://isp:8080"},
        {**good, "X-CSRF-Token": "csrf-tokeN"},
        {**good, "Origin": "http://evil.example"},
    ):
        with pytest.raises(Problem) as raised:
            sessions.check_csrf(request(**bad), SESSION)  # type: ignore[arg-type]
        assert raised.value.status == 403


def test_pages_are_outside_the_api_and_every_route_is_one_or_declared() -> None:
    pages = APP[routes.PAGES]
    assert pages and all(not r.canonical.startswith(routes.PREFIX) for r in pages)
    for route in APP.router.routes():
        assert (route in APP[routes.DECLARED]) != (route.resource in pages), route


def test_a_screen_must_be_built_on_a_declared_route() -> None:
    app = web.Application()
    routes.register(app, ())
    with pytest.raises(KeyError, match="is not declared"):
        console.register(app)


def test_a_viewer_sees_history_and_no_send() -> None:
    viewer = Principal(3, "viewer")
    routes = render.allowed_routes(APP, viewer)
    assert "GET /campaigns" in routes and "POST /campaigns" not in routes
    titles = [s.title for _, screens in render.menu(APP, viewer) for s in screens]
    assert "History" in titles and "Create" not in titles and "Tokens" not in titles


def test_a_partner_operator_sees_no_settings() -> None:
    partner = Principal(5, "operator", 41)
    routes = render.allowed_routes(APP, partner)
    assert "POST /campaigns" in routes and "GET /config/sms" not in routes
    assert "POST /templates" not in routes  # templates are shared: read-only for partners
    titles = {s.name for _, screens in render.menu(APP, partner) for s in screens}
    assert titles == {"create", "history", "logs_sms", "logs_email", "directory"}


def test_every_screen_has_its_template_and_script() -> None:
    static = render.environment().loader
    assert static is not None
    names = set(static.list_templates())
    for screen in SCREENS:
        assert screen.template in names, screen
        script = f"{screen.view or screen.name}.js"
        assert (render.STATIC / script).exists(), screen
    assert len({s.path for s in SCREENS}) == len(SCREENS)
    assert len({s.name for s in SCREENS}) == len(SCREENS)


async def test_without_a_session_pages_send_to_sign_in_and_the_api_asks_for_a_token() -> None:
    async with TestClient(TestServer(real_app())) as client:
        async with client.get("/mass-sending/create", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/signin"
        async with client.get("/signin") as response:
            assert response.status == 200 and "API token" in await response.text()
        async with client.get("/static/app.js") as response:
            assert response.status == 200
        async with client.get("/no-such-page") as response:
            assert response.status == 404  # the router's, not a 401
        async with client.get(routes.PREFIX + "/campaigns") as response:
            assert response.status == 401
        async with client.get(routes.PREFIX + "/no-such-route") as response:
            assert response.status == 401
