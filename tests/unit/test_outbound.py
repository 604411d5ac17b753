"""The outbound policy: what an allow-list admits, and that refusals happen before connecting.

Connections are only ever attempted to loopback addresses (a local server on 127.0.0.1;
127.0.0.2 outside the allow-list); literal link-local and metadata addresses are refused
before any socket exists, so no test traffic can leave the machine.
"""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.outbound import AllowList, OutboundRefused, connect, socket_factory

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "not a unicast"),
        ("224.0.0.1", "not a unicast"),
        ("127.0.0.1", "not a public address"),
        ("::1", "not a public address"),
        ("::ffff:127.0.0.1", "not a public address"),
        ("10.1.2.3", "not a public address"),
        ("192.168.1.1", "not a public address"),
        ("172.16.0.1", "not a public address"),
        ("100.64.0.1", "not a public address"),
        ("fc00::1", "not a public address"),
    ],
)
def test_non_public_addresses_are_refused_by_default(address: str, reason: str) -> None:
    refusal = AllowList().refusal("gateway.example", address)
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "1.1.1.1"])
def test_public_addresses_are_reachable(address: str) -> None:
    assert AllowList().refusal("gateway.example", address) is None


def test_allow_list_admits_listed_hosts_addresses_and_ranges() -> None:
    allow = AllowList.parse(" sandbox.local., 127.0.0.1 , 10.0.0.0/8,fd12::/16 ,")
    assert allow.refusal("sandbox.local", "192.168.5.5") is None
    assert allow.refusal("SANDBOX.local.", "192.168.5.5") is None
    assert allow.refusal("x", "127.0.0.1") is None
    assert allow.refusal("x", "::ffff:127.0.0.1") is None
    assert allow.refusal("x", "10.200.1.1") is None
    assert allow.refusal("x", "fd12::5") is None
    assert allow.refusal("x", "127.0.0.2") is not None
    assert allow.refusal("other.local", "192.168.5.5") is not None


def test_allow_list_never_admits_link_local_or_metadata() -> None:
    allow = AllowList.parse("169.254.0.0/16,metadata.google.internal,0.0.0.0/0")
    assert allow.refusal("metadata.google.internal", "169.254.169.254") is not None
    assert allow.refusal("x", "169.254.1.1") is not None
    assert allow.refusal("x", "168.63.129.16") is not None


@pytest.mark.parametrize("entry", ["http://x", "a b", "10.0.0.0/33", "-", "x..y"])
def test_bad_allow_list_entries_are_named(entry: str) -> None:
    with pytest.raises(ValueError, match="HERALD_OUTBOUND_ALLOW"):
        AllowList.parse(f"ok.example,{entry}")


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


@pytest.fixture
async def local_server() -> object:
    app = web.Application()
    app.router.add_get("/", _hello)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def _get(allow: AllowList, url: str, host: str) -> str:
    connector = aiohttp.TCPConnector(socket_factory=socket_factory(allow, host))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, timeout=aiohttp.ClientTimeout(total=3)) as response,
    ):
        return await response.text()


async def test_http_reaches_an_allowed_loopback_server(local_server: TestServer) -> None:
    url = f"http://127.0.0.1:{local_server.port}/"
    assert await _get(AllowList.parse("127.0.0.1"), url, "127.0.0.1") == "hello"


async def test_http_to_loopback_outside_the_allow_list_is_refused(local_server: TestServer) -> None:
    # 127.0.0.2 is loopback (Linux answers on all of 127/8) but not in the allow-list.
    url = f"http://127.0.0.2:{local_server.port}/"
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await _get(AllowList.parse("127.0.0.1"), url, "127.0.0.2")
    assert isinstance(caught.value.os_error, OutboundRefused)


async def test_http_to_a_name_resolving_to_loopback_is_refused(local_server: TestServer) -> None:
    # The check runs on the resolved address: "localhost" is not a way round it.
    url = f"http://localhost:{local_server.port}/"
    with pytest.raises(aiohttp.ClientConnectorError):
        await _get(AllowList.parse("127.0.0.2"), url, "localhost")
    assert await _get(AllowList.parse("localhost"), url, "localhost") == "hello"


async def test_http_to_metadata_is_refused_before_connecting() -> None:
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await _get(AllowList.parse("0.0.0.0/0"), "http://169.254.169.254/latest", "169.254.169.254")
    assert "metadata" in str(caught.value.os_error)


async def test_connect_returns_a_socket_to_an_allowed_address(local_server: TestServer) -> None:
    assert local_server.port is not None
    sock = await connect(AllowList.parse("127.0.0.1"), "127.0.0.1", local_server.port, 3)
    try:
        assert sock.getpeername()[0] == "127.0.0.1"
    finally:
        sock.close()


async def test_connect_refuses_outside_the_allow_list(local_server: TestServer) -> None:
    assert local_server.port is not None
    with pytest.raises(OutboundRefused, match="not in HERALD_OUTBOUND_ALLOW"):
        await connect(AllowList(), "127.0.0.2", local_server.port, 3)
    with pytest.raises(OutboundRefused, match="link-local"):
        await connect(AllowList.parse("169.254.0.0/16"), "169.254.3.4", 25, 3)


def test_refusals_pause_the_gateway_instead_of_retrying() -> None:
    # A policy refusal cannot heal by retrying: both classifiers pause with the reason.
    from services.sender.domain import classify_smtp
    from shared.sms_answer import classify_exception

    refused = OutboundRefused("127.0.0.2 is not a public address and not in HERALD_OUTBOUND_ALLOW")
    wrapped = OSError("connect failed")
    wrapped.__cause__ = refused
    for exc in (refused, wrapped):
        for verdict in (classify_exception(exc), classify_smtp(exc)):
            assert verdict.verdict == "gateway_paused"
            assert verdict.reason.startswith("outbound policy: 127.0.0.2")
    assert classify_exception(ConnectionRefusedError()).verdict == "retry"
