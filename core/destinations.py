"""Where crier may send a request a tenant chose (webhook URLs): never into its own network.

Outside development a destination must resolve only to global addresses, and the request then
goes to the very address that was checked (the URL's host kept in the Host header and for TLS),
so a name that resolves to a public address when checked and to 127.0.0.1 a moment later
(DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    if not allow_private and any(not a.is_global for a in addresses):
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
        if literal is not None and not allow_private and not literal.is_global:
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


@dataclass(frozen=True)
class Pinned:
    """A request target bound to one checked address."""

    url: httpx.URL  # the URL with its host replaced by the address
    headers: dict[str, str]  # Host, as the URL named it
    extensions: dict[str, str]  # the TLS server name, for SNI and certificate checks


async def pin(url: str, *, allow_private: bool) -> Pinned:
    """Resolve `url`'s host, refuse it unless every address is allowed, and bind to one."""
    problems = url_problems(url, allow_private=allow_private)
    if problems:
        raise BlockedDestination("; ".join(problems))
    parsed = httpx.URL(url)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await resolve(host, port, allow_private=allow_private)
    address = addresses[0]
    host_header = host if parsed.port is None else f"{host}:{parsed.port}"
    return Pinned(
        url=parsed.copy_with(host=str(address)),
        headers={"Host": host_header},
        extensions={"sni_hostname": host} if parsed.scheme == "https" else {},
    )
