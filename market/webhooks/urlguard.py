"""Server-side request forgery protection for webhook URLs.

A webhook makes this server send requests to an address a customer chose, so the address must
never reach the server's own network: loopback, private and link-local ranges, carrier-grade
NAT, multicast, unspecified and reserved addresses, IPv6 unique-local and link-local, IPv4
mapped into IPv6 (and the 6to4, Teredo and NAT64 forms that embed an IPv4 address). Numeric
host forms other than plain dotted decimal (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) are
refused outright, since resolvers read them inconsistently.

A name is resolved and every address it resolves to must be public. The check runs when an
endpoint is registered and again before each delivery, whose connection then goes to the
checked address itself, so a DNS answer changed in between (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges refused on top of what ``is_global`` already excludes, named for the error message.
_BLOCKED: tuple[tuple[str, str], ...] = (
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("198.18.0.0/15", "benchmarking"),
    ("2002::/16", "6to4 (embeds an IPv4 address)"),
    ("2001::/32", "Teredo (embeds an IPv4 address)"),
    ("64:ff9b::/96", "NAT64 (embeds an IPv4 address)"),
    ("64:ff9b:1::/48", "NAT64 (embeds an IPv4 address)"),
)
_NETWORKS = [(ipaddress.ip_network(net), name) for net, name in _BLOCKED]
# Anything made only of digits, hex numbers and dots that is not canonical dotted decimal.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)


class UnsafeUrl(InvalidInput):
    code = "unsafe_webhook_url"


@dataclass(frozen=True)
class Target:
    """A checked URL and the public address its connection must go to."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress


def _refuse(message: str, url: str) -> UnsafeUrl:
    return UnsafeUrl(
        f"url: {message}",
        details=[{"field": "url", "message": message, "type": "unsafe_webhook_url"}],
    )


def why_not_public(address: IPAddress) -> str | None:
    """Why the address may not receive webhooks, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    # The most specific name first, so the message says what the address really is.
    for network, name in _NETWORKS:
        if address.version == network.version and address in network:
            return f"a {name} address"
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        (
            "site-local",
            isinstance(address, ipaddress.IPv6Address) and address.is_site_local,
        ),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to (tests replace this to stay off the network)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check(url: str) -> Target:
    """The URL's target if it is http(s) to public addresses only; UnsafeUrl otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _refuse("not a valid URL", url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse("use an http:// or https:// address", url)
    if parts.username is not None or parts.password is not None:
        raise _refuse("leave credentials out of the address; the signature authenticates us", url)
    host = (parts.hostname or "").lower()
    if not host:
        raise _refuse("the address has no host name", url)
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and _NUMERIC_HOST.match(host):
        raise _refuse("write an IP address in plain dotted decimal, or use a host name", url)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise _refuse(f"the host name {host} does not resolve", url) from None
        if not addresses:
            raise _refuse(f"the host name {host} does not resolve", url)
    for address in addresses:
        problem = why_not_public(address)
        if problem is not None:
            raise _refuse(
                f"{host} is {problem}; webhooks go to public internet addresses only", url
            )
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, address=addresses[0])
