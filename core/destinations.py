"""Where crier may send a request a tenant chose (webhook and media URLs): never into its own
network. The checks here need no connection (a URL's scheme, host and literal address) or only
a lookup (`resolve`); core/guarded_fetch.py makes the request, pinned to the address it
checked, so DNS rebinding cannot turn a checked public name into 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges `ipaddress.is_global` lets through (checked on 3.11.7) that still lead inside a
# network: NAT64 maps IPv4 (the metadata service too) into IPv6; 6to4 and Teredo embed an IPv4
# address; so do the deprecated IPv4-compatible addresses (::/96: `::7f00:1` is "global" to
# Python); 100.64/10 is carrier-grade NAT (not global, listed so the intent is explicit).
DENIED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "::/96",
        "100.64.0.0/10",
    )
)


def denied(address: IPAddress) -> bool:
    # Multicast is "global" to Python (224.0.0.1, ff02::1) but is no media host's address.
    return (
        not address.is_global
        or address.is_multicast
        or any(address in network for network in DENIED_NETWORKS)
    )


class BlockedDestination(ValueError):
    """The destination is not a public http(s) address, or cannot be resolved."""


class Unresolvable(BlockedDestination):
    """The host has no address (or the resolver failed)."""


async def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Every address `host` resolves to; refused unless all are global (or private allowed)."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise Unresolvable(f"cannot resolve {host}: {error}") from None
    addresses = [ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in found]
    if not addresses:
        raise Unresolvable(f"{host} resolves to no address")
    if not allow_private and any(denied(a) for a in addresses):
        raise BlockedDestination(f"{host} resolves to a private, loopback or link-local address")
    return addresses


def url_problems(url: str, *, allow_private: bool) -> list[str]:
    """What is wrong with `url` without resolving it: scheme, host, and literal addresses."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        return [f"not a URL: {error}"]
    problems = []
    if parsed.scheme not in ("http", "https"):
        problems.append("the scheme must be http or https")
    if not parsed.host:
        problems.append("the URL has no host")
    elif not allow_private and _is_local_name(parsed.host):
        problems.append(f"{parsed.host} is a local name")
    else:
        literal = _literal(parsed.host)
        if literal is not None and not allow_private and denied(literal):
            problems.append(f"{parsed.host} is a private, loopback or link-local address")
    if parsed.userinfo:
        problems.append("credentials in the URL are refused: they would sit in logs")
    return problems


def _is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith((".localhost", ".local", ".internal"))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
