"""Where Herald's outbound connections may go (``HERALD_OUTBOUND_ALLOW``).

Gateways, SMTP servers and webhooks are configured by operators, so their addresses are
untrusted input: without a guard a gateway URL of ``http://169.254.169.254/`` or
``http://127.0.0.1:5432/`` turns the sender into a probe of the network it runs in.
The rule: public addresses are reachable; loopback, private and other non-public ones only
when the host name or the address is in the allow-list; link-local and cloud-metadata
addresses never.

The check runs on the address a socket is about to connect to (after DNS), so a name that
resolves to a public address when the settings are saved and to a private one later (DNS
rebinding) is still refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.settings import get_settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance-metadata and host-agent endpoints of the clouds; some are not link-local.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure host agent (a public-looking address)
        "192.0.0.192",  # Oracle Cloud
    )
)


class OutboundRefused(ConnectionRefusedError):
    """A connection the outbound policy does not allow (an ``OSError``, so HTTP and SMTP
    clients report it as a failed connection)."""


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks that may be reached although they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """The allow-list of a comma-separated ``HERALD_OUTBOUND_ALLOW`` value (ValueError
        naming the entry when one is neither a host name, an address nor a CIDR range)."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for raw in text.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not _is_host_name(entry):
                raise ValueError(
                    f"HERALD_OUTBOUND_ALLOW: {raw.strip()!r} is not a host, address or range"
                )
            hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused, or None."""
        ip = _unwrap(ipaddress.ip_address(address.split("%", 1)[0]))
        if ip in METADATA:
            return f"{ip} is a cloud metadata address"
        if ip.is_link_local:
            return f"{ip} is a link-local address"
        if ip.is_unspecified or ip.is_multicast:
            return f"{ip} is not a unicast address"
        if ip.is_global:
            return None
        if host.lower().rstrip(".") in self.hosts or any(ip in n for n in self.networks):
            return None
        return f"{ip} is not a public address and not in HERALD_OUTBOUND_ALLOW"

    def check(self, host: str, address: str) -> None:
        """Raise ``OutboundRefused`` unless ``address`` may be reached."""
        reason = self.refusal(host, address)
        if reason is not None:
            raise OutboundRefused(reason)


def refusal_in(exc: BaseException) -> OutboundRefused | None:
    """The policy refusal behind a client library's connection error, if that is its cause."""
    for candidate in (exc, getattr(exc, "os_error", None), exc.__cause__, exc.__context__):
        if isinstance(candidate, OutboundRefused):
            return candidate
    return None


@lru_cache(maxsize=1)
def policy() -> AllowList:
    """This process's allow-list, from ``HERALD_OUTBOUND_ALLOW`` (read once)."""
    return AllowList.parse(get_settings().outbound_allow)


def _unwrap(ip: Address) -> Address:
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_host_name(entry: str) -> bool:
    labels = entry.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
        for label in labels
    )


def socket_factory(allow: AllowList, host: str) -> Callable[[Any], socket.socket]:
    """A ``socket_factory`` for ``aiohttp.TCPConnector`` of a session that only ever talks
    to ``host``: each address is checked right before its socket is made."""

    def make(addr_info: Any) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        allow.check(host, str(sockaddr[0]))
        return socket.socket(family=family, type=kind, proto=proto)

    return make


async def connect(allow: AllowList, host: str, port: int, per_address: float) -> socket.socket:
    """A connected, non-blocking TCP socket to the first allowed address of ``host``
    (``OutboundRefused`` when none is; ``OSError`` when none answers within
    ``per_address`` seconds)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    error: OSError = OutboundRefused(f"{host} has no address")
    for family, kind, proto, _, sockaddr in infos:
        reason = allow.refusal(host, str(sockaddr[0]))
        if reason is not None:
            error = OutboundRefused(reason)
            continue
        sock = socket.socket(family=family, type=kind, proto=proto)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(per_address):
                await loop.sock_connect(sock, sockaddr)
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc if isinstance(exc, OSError) else OSError(f"{host}: connect timed out")
            continue
        return sock
    raise error
