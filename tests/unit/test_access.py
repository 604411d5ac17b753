"""Access rules: every route has one, and each role and partner scope gets what its rule says.

The application is built for real (as tests/e2e/test_openapi.py does) with its real router and
middlewares; token lookups and partner ownership come from tables here instead of Postgres,
and a last middleware answers for the handler, so no handler runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest
from aio_pika.abc import AbstractExchange, AbstractRobustConnection
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr, ValidationError

from services.campaign.http import access, auth, limits, routes, rules
from services.campaign.http import repo as http_repo
from services.campaign.http.access import Principal
from services.campaign.http.app import ROUTES, create_app
from services.campaign.http.problems import Handler, Problem
from services.campaign.http.routes import PREFIX, Route
from services.campaign.http.rules import PUBLIC, ROLES, Rule, Scope
from services.campaign.http.web import State
from services.campaign.tokens import repo as tokens_repo
from services.campaign.tokens import store as tokens
from shared.db import Pool
from shared.models import Filters
from shared.settings import Settings

BOOTSTRAP = "bootstrap-token-of-at-least-32-characters"
PARTNER, OTHER = 41, 42
REACHED = "X-Test-Reached-Handler"

PRINCIPALS = {
    "admin": Principal(1, "admin"),
    "operator": Principal(2, "operator"),
    "viewer": Principal(3, "viewer"),
    "partner-admin": Principal(4, "admin", PARTNER),
    "partner-operator": Principal(5, "operator", PARTNER),
    "partner-viewer": Principal(6, "viewer", PARTNER),
}
TOKENS = {tokens.token_hash(f"token-{name}"): p for name, p in PRINCIPALS.items()}
# Objects a {id} may name: (exists, partner).
OWN, FOREIGN, UNOWNED, MISSING = 5, 6, 7, 9
OWNERS = {OWN: (True, PARTNER), FOREIGN: (True, OTHER), UNOWNED: (True, None)}
RULES = {route.key: route.rule for route in ROUTES}


def _app(insecure: bool = False) -> web.Application:
    settings = Settings(
        insecure_dev=insecure,
        api_token=None if insecure else SecretStr(BOOTSTRAP),
        campaign_rate_per_minute=0,
        preview_rate_per_minute=0,
    )
    state = State(
        settings=settings,
        pool=cast(Pool, None),
        amqp=cast(AbstractRobustConnection, None),
        exchange=cast(AbstractExchange, None),
    )
    return create_app(state)


def served_keys() -> set[tuple[str, str]]:
    """(method, path relative to the prefix) of every route the application serves."""
    app = _app(insecure=True)
    return {
        (route.method, route.resource.canonical.removeprefix(PREFIX))
        for route in app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and route.resource not in app[routes.PAGES]  # the console's (tests/unit/test_console)
    }


# --------------------------------------------------------------------------------------------
# The declarations against the application
# --------------------------------------------------------------------------------------------


def test_every_served_route_is_declared() -> None:
    app = _app(insecure=True)
    undeclared = [
        (route.method, route.resource.canonical if route.resource else "")
        for route in app.router.routes()
        if route not in app[routes.DECLARED] and route.resource not in app[routes.PAGES]
    ]
    assert undeclared == [], "routes added beside the declarations (they have no rule)"
    assert served_keys() == set(RULES), "declared routes the application does not serve"


def test_a_route_cannot_be_made_without_a_rule() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    with pytest.raises(TypeError, match="no access rule"):
        Route("GET", "/x", handler, None, "no rule", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="subject"):
        Route("GET", "/x/{id}", handler, Rule(rules.OPERATOR, Scope.PATH), "no subject", None)
    with pytest.raises(ValueError, match="body cap"):
        Route("PUT", "/x", handler, Rule(rules.ADMIN), "too big", None, body_cap=10**9)


def test_a_route_is_declared_once() -> None:
    app = web.Application()
    with pytest.raises(ValueError, match="declared twice"):
        routes.register(app, (ROUTES[0], ROUTES[0]))


def test_public_rules_are_the_unauthenticated_paths() -> None:
    public = {route.key for route in ROUTES if route.public}
    assert public == {
        ("GET", "/callbacks/bulksms"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/openapi.json"),
    }
    assert all(RULES[key] is PUBLIC for key in public)


@pytest.mark.parametrize("key", sorted(RULES), ids=" ".join)
def test_rules_are_well_formed(key: tuple[str, str]) -> None:
    rule = RULES[key]
    if rule.public:
        return
    assert "admin" in rule.roles, "admin may do everything"
    assert rule.roles <= set(ROLES)
    if rule.scope is Scope.PATH:
        assert rule.subject is not None and "{id}" in key[1]
    if "viewer" in rule.roles:
        assert key[0] == "GET", "viewer is read-only"
    if key[0] != "GET" and key[1].startswith(("/config/", "/tokens")):
        assert rule.roles == rules.ADMIN, "settings and tokens change by admins only"


# The policy in words: who may do what (a change here is a change of policy).
POLICY: dict[tuple[str, str], set[str]] = {
    ("PUT", "/customers"): {"admin"},
    ("GET", "/customers"): {"admin", "operator"},
    ("GET", "/leads/{id}"): {"admin", "operator"},
    ("DELETE", "/customers/{id}"): {"admin"},
    ("POST", "/campaigns"): {"admin", "operator"},
    ("POST", "/campaigns/preview"): {"admin", "operator"},
    ("POST", "/campaigns/test"): {"admin", "operator"},
    ("POST", "/campaigns/{id}/cancel"): {"admin", "operator"},
    ("POST", "/campaigns/{id}/pause"): {"admin", "operator"},
    ("POST", "/campaigns/{id}/resume"): {"admin", "operator"},
    ("DELETE", "/campaigns/{id}"): {"admin", "operator"},
    ("GET", "/campaigns"): {"admin", "operator", "viewer"},
    ("GET", "/campaigns/{id}"): {"admin", "operator", "viewer"},
    ("GET", "/campaigns/{id}/recipients"): {"admin", "operator", "viewer"},
    ("GET", "/templates"): {"admin", "operator"},
    ("PUT", "/templates/{id}"): {"admin", "operator"},
    ("GET", "/logs/sms"): {"admin", "operator", "viewer"},
    ("GET", "/logs/sms/{id}"): {"admin", "operator", "viewer"},
    ("GET", "/config/sms"): {"admin", "operator"},
    ("GET", "/config/company"): {"admin", "operator"},
    ("PUT", "/config/sms"): {"admin"},
    ("POST", "/config/sms/test"): {"admin"},
    ("POST", "/config/sms/resume"): {"admin"},
    ("GET", "/dead-letters"): {"admin"},
    ("POST", "/tokens"): {"admin"},
    ("GET", "/tokens"): {"admin"},
    ("DELETE", "/tokens/{id}"): {"admin"},
}


@pytest.mark.parametrize("key", sorted(POLICY), ids=" ".join)
def test_policy(key: tuple[str, str]) -> None:
    assert set(RULES[key].roles) == POLICY[key]


def test_every_path_subject_has_an_owner_query() -> None:
    for rule in RULES.values():
        if rule.scope is Scope.PATH:
            assert rule.subject in http_repo.OWNER_SQL


# --------------------------------------------------------------------------------------------
# Every route, every role, through the real middlewares
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    looked_up: list[bytes] = []

    async def lookup(pool: Pool, digest: bytes) -> Principal | None:
        looked_up.append(digest)
        return TOKENS.get(digest)

    async def owner(pool: Pool, subject: str, object_id: int) -> tuple[bool, int | None]:
        return OWNERS.get(object_id, (False, None))

    monkeypatch.setattr(tokens_repo, "lookup", lookup)
    monkeypatch.setattr(http_repo, "owner", owner)
    yield looked_up


async def _reached(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Stands in for every handler: reads the body (so body caps apply) and says it got here."""
    await request.read()
    return web.Response(status=200, headers={REACHED: "1"})


@pytest.fixture
async def client(fakes: list[bytes]) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = _app()
    app.middlewares.append(web.middleware(_reached))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def _concrete(path: str, object_id: int) -> str:
    return PREFIX + path.replace("{id}", str(object_id)).replace("{customer_id}", "3").replace(
        "{message_id}", "4"
    )


def _expected(key: tuple[str, str], principal: Principal, object_id: int) -> bool:
    """Whether the principal gets past access control."""
    rule = RULES[key]
    if rule.public:
        return True
    if principal.role not in rule.roles:
        return False
    if not principal.scoped:
        return True
    if rule.scope in (Scope.GLOBAL, Scope.PENDING):
        return False
    if rule.scope is Scope.PATH:
        return object_id == OWN  # a missing owner row fails closed
    return True


async def test_every_route_for_every_role_and_scope(
    client: TestClient[web.Request, web.Application],
) -> None:
    wrong = []
    for method, path in sorted(served_keys()):
        ids = (OWN, FOREIGN, UNOWNED, MISSING) if "{id}" in path else (OWN,)
        for name, principal in PRINCIPALS.items():
            for object_id in ids:
                headers = {"Authorization": f"Bearer token-{name}"}
                url = _concrete(path, object_id)
                async with client.request(method, url, headers=headers) as response:
                    reached = response.headers.get(REACHED) == "1"
                    if not reached:
                        # Outside the partner's scope: 404, as if it did not exist.
                        rule = RULES[method, path]
                        hidden = principal.scoped and rule.scope is Scope.PATH
                        refusal = 404 if hidden and principal.role in rule.roles else 403
                        assert response.status == refusal, (method, url, name, response.status)
                        assert response.content_type == "application/problem+json"
                expected = _expected((method, path), principal, object_id)
                if reached != expected:
                    wrong.append((method, url, name, "reached" if reached else "refused"))
    assert wrong == []


async def test_a_route_added_beside_the_declarations_is_refused(fakes: list[bytes]) -> None:
    app = _app()
    app.router.add_get(PREFIX + "/undeclared", _undeclared)
    headers = {"Authorization": f"Bearer {BOOTSTRAP}"}
    async with (
        TestClient(TestServer(app)) as client,
        client.get(PREFIX + "/undeclared", headers=headers) as response,
    ):
        assert response.status == 403
        assert "no access rule" in (await response.json())["detail"]


async def _undeclared(request: web.Request) -> web.Response:
    return web.Response(text="reached")


async def test_forbidden_names_the_role(client: TestClient[web.Request, web.Application]) -> None:
    headers = {"Authorization": "Bearer token-viewer"}
    async with client.post(PREFIX + "/campaigns", headers=headers) as response:
        assert response.status == 403
        body = await response.json()
    assert body["status"] == 403 and body["type"].endswith("/forbidden")
    assert "viewer role may not POST /campaigns" in body["detail"]


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "Basic eDp5",
        f"Basic {BOOTSTRAP}",
        f"Bearer {BOOTSTRAP}x",
        "Bearer " + "x" * 5000,
        f"Bearer {BOOTSTRAP[:-1]}",
    ],
)
async def test_no_or_bad_token_is_401(
    client: TestClient[web.Request, web.Application], header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    async with client.get(PREFIX + "/campaigns", headers=headers) as response:
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_bootstrap_token_is_an_admin(
    client: TestClient[web.Request, web.Application], fakes: list[bytes]
) -> None:
    headers = {"Authorization": f"bearer  {BOOTSTRAP} "}
    async with client.post(PREFIX + "/tokens", headers=headers) as response:
        assert response.headers.get(REACHED) == "1"
    assert fakes == [], "the bootstrap token needs no lookup"


async def test_public_routes_need_no_token(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path in (
        "/health",
        PREFIX + "/ready",
        PREFIX + "/openapi.json",
        PREFIX + "/callbacks/bulksms",
    ):
        async with client.get(path) as response:
            assert response.headers.get(REACHED) == "1", path


async def test_lookups_are_cached(
    client: TestClient[web.Request, web.Application], fakes: list[bytes]
) -> None:
    for _ in range(5):
        async with client.get(
            PREFIX + "/campaigns", headers={"Authorization": "Bearer token-viewer"}
        ) as response:
            assert response.status == 200
        async with client.get(
            PREFIX + "/campaigns", headers={"Authorization": "Bearer unknown"}
        ) as response:
            assert response.status == 401
    assert len(fakes) == 2, "one lookup per token (hit or miss) within the cache window"


async def test_insecure_dev_lets_requests_without_a_token_in(fakes: list[bytes]) -> None:
    app = _app(insecure=True)
    app.middlewares.append(web.middleware(_reached))
    async with TestClient(TestServer(app)) as client:
        async with client.put(PREFIX + "/config/sms") as response:
            assert response.headers.get(REACHED) == "1"
        # A token that is given is still checked.
        async with client.get(
            PREFIX + "/campaigns", headers={"Authorization": "Bearer nope"}
        ) as response:
            assert response.status == 401


@pytest.mark.parametrize("token", [None, "x" * 31])
def test_the_api_refuses_to_start_without_a_long_bootstrap_token(token: str | None) -> None:
    settings = Settings(api_token=SecretStr(token) if token else None)
    state = State(
        settings=settings,
        pool=cast(Pool, None),
        amqp=cast(AbstractRobustConnection, None),
        exchange=cast(AbstractExchange, None),
    )
    with pytest.raises(SystemExit, match="HERALD_API_TOKEN"):
        create_app(state)


async def test_token_store_forgets_revoked_tokens(fakes: list[bytes]) -> None:
    store = tokens.TokenStore(ttl=60)
    request = cast(web.Request, _FakeRequest())
    digest = tokens.token_hash("token-operator")
    assert await store.principal(request, digest) == PRINCIPALS["operator"]
    assert await store.principal(request, digest) == PRINCIPALS["operator"]
    assert len(fakes) == 1
    store.forget(PRINCIPALS["operator"].token_id or 0)
    await store.principal(request, digest)
    assert len(fakes) == 2, "looked up again after forget()"


async def test_token_store_expires_and_is_bounded(fakes: list[bytes]) -> None:
    store = tokens.TokenStore(ttl=0, entries=3)
    request = cast(web.Request, _FakeRequest())
    for i in range(10):
        await store.principal(request, tokens.token_hash(f"t{i}"))
    await store.principal(request, tokens.token_hash("t9"))
    assert len(fakes) == 11, "ttl=0 caches nothing"
    assert len(store._cache) == 3
    assert repr(store) == "TokenStore(ttl=0s, cached=3/3)"


class _FakeRequest(dict[str, Any]):
    """Enough of a request for TokenStore (pool_of reads request.app[STATE].pool)."""

    @property
    def app(self) -> dict[Any, Any]:
        from services.campaign.http.web import STATE

        return {
            STATE: State(cast(Settings, None), cast(Pool, None), cast(Any, None), cast(Any, None))
        }


def test_tokens_are_random_and_hashed() -> None:
    made = {tokens.new_token() for _ in range(100)}
    assert len(made) == 100
    for token in made:
        assert token.startswith(tokens.TOKEN_PREFIX) and len(token) >= 43 + 4
        assert len(tokens.token_hash(token)) == 32


def test_principal_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PRINCIPALS["viewer"].role = "admin"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Body size caps
# --------------------------------------------------------------------------------------------

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP}", "Content-Type": "application/json"}


async def test_default_body_cap_is_1_mib(client: TestClient[web.Request, web.Application]) -> None:
    big = b"[" + b"0," * (routes.DEFAULT_BODY_BYTES // 2) + b"0]"
    async with client.post(PREFIX + "/templates", data=big, headers=ADMIN) as response:
        assert response.status == 413
        assert "at most" in (await response.json())["detail"]
    small = b"[" + b"0," * 1000 + b"0]"
    async with client.post(PREFIX + "/templates", data=small, headers=ADMIN) as response:
        assert response.headers.get(REACHED) == "1"


async def test_chunked_bodies_are_cut_at_the_cap(
    client: TestClient[web.Request, web.Application],
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 65536  # 2.5 MiB in all, no Content-Length

    async with client.post(PREFIX + "/templates", data=chunks(), headers=ADMIN) as response:
        assert response.status == 413


async def test_bulk_routes_take_large_bodies(
    client: TestClient[web.Request, web.Application],
) -> None:
    big = b"[" + b" " * (4 * routes.MIB) + b"]"
    async with client.put(PREFIX + "/customers", data=big, headers=ADMIN) as response:
        assert response.headers.get(REACHED) == "1"
    async with client.post(PREFIX + "/campaigns", data=big, headers=ADMIN) as response:
        assert response.headers.get(REACHED) == "1"


def test_rate_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    env = "HERALD_CAMPAIGN_RATE_PER_MINUTE"
    monkeypatch.delenv(env, raising=False)
    assert Settings().campaign_rate_per_minute == 60
    for raw, rate in (("0", 0), ("2.5", 2.5)):
        monkeypatch.setenv(env, raw)
        assert Settings().campaign_rate_per_minute == rate
    for bad in ("x", "-1", "nan", "1e9"):
        monkeypatch.setenv(env, bad)
        with pytest.raises(ValidationError, match="campaign_rate_per_minute"):
            Settings()
    assert limits.bucket(None) == limits.bucket(auth.BOOTSTRAP) == "api-token:bootstrap"
    assert limits.bucket(PRINCIPALS["viewer"]) == "api-token:3"


# --------------------------------------------------------------------------------------------
# Partner scope helpers
# --------------------------------------------------------------------------------------------


def test_scope_filters_leaves_unscoped_filters_alone() -> None:
    filters = Filters(partner_ids=[1, 2], status=["active"])
    assert access.scope_filters(None, filters) is filters
    assert access.scope_filters(PRINCIPALS["operator"], filters) is filters


def test_scope_filters_forces_the_partner() -> None:
    scoped = PRINCIPALS["partner-operator"]
    for given in (None, [], [PARTNER], [PARTNER, PARTNER]):
        narrowed = access.scope_filters(scoped, Filters(partner_ids=given, status=["active"]))
        assert narrowed.partner_ids == [PARTNER]
        assert narrowed.status == ["active"]


def test_scope_filters_refuses_another_partner() -> None:
    for given in ([OTHER], [PARTNER, OTHER]):
        with pytest.raises(Problem) as refused:
            access.scope_filters(PRINCIPALS["partner-viewer"], Filters(partner_ids=given))
        assert refused.value.status == 403
        assert refused.value.errors[0]["field"] == "filters.partner_ids"


def test_check_partner_and_partner_condition() -> None:
    scoped = PRINCIPALS["partner-admin"]
    access.check_partner(scoped, [PARTNER, PARTNER], "body")
    access.check_partner(PRINCIPALS["admin"], [OTHER, None], "body")
    for bad in ([PARTNER, OTHER], [None]):
        with pytest.raises(Problem):
            access.check_partner(scoped, bad, "body")
    assert access.partner_condition(PRINCIPALS["viewer"], "p.partner_id", 3) == ("true", [])
    assert access.partner_condition(scoped, "p.partner_id", 3) == ("p.partner_id = $3", [PARTNER])
