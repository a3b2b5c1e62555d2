"""Webhook URLs may only lead to public internet addresses, over http or https."""

from __future__ import annotations

import ipaddress

import pytest

from market.webhooks import urlguard

PUBLIC_V4 = ipaddress.ip_address("93.184.216.34")
PUBLIC_V6 = ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")


@pytest.fixture(autouse=True)
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A fake DNS: tests never reach the network."""
    answers: dict[str, list[str]] = {
        "hooks.example.com": [str(PUBLIC_V4), str(PUBLIC_V6)],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": [str(PUBLIC_V4), "127.0.0.1"],
        "rebind.example.com": ["169.254.169.254"],
        "v6local.example.com": ["fd00::1"],
    }

    def resolve(host: str, port: int) -> list[urlguard.IPAddress]:
        if host not in answers:
            raise OSError("name does not resolve")
        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(urlguard, "resolve", resolve)
    return answers


def test_a_public_https_name_is_accepted_with_the_address_to_connect_to() -> None:
    target = urlguard.check("https://hooks.example.com/iimarket?x=1")

    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "hooks.example.com",
        443,
        PUBLIC_V4,
    )


@pytest.mark.parametrize(
    "url",
    ["http://93.184.216.34:8080/hook", "https://[2606:2800:220:1:248:1893:25c8:1946]/hook"],
)
def test_public_ip_literals_are_accepted(url: str) -> None:
    assert urlguard.check(url).address in (PUBLIC_V4, PUBLIC_V6)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
        "gopher://hooks.example.com/",
        "javascript:alert(1)",
        "hooks.example.com/no-scheme",
        "https://user:secret@hooks.example.com/",
        "https:///no-host",
        "https://hooks.example.com:99999/",
    ],
)
def test_other_schemes_credentials_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(urlguard.UnsafeUrl):
        urlguard.check(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1.2.3/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.0.0.5/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://100.127.255.254/", "carrier-grade NAT"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://198.18.0.1/", "benchmarking"),
        ("http://192.0.2.1/", "private"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://[::ffff:93.184.216.34]/", "IPv4-mapped"),
        ("http://[fd00::1]/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fec0::1]/", "site-local"),
        ("http://[2002:7f00:1::1]/", "6to4"),
        ("http://[2001:0:4136:e378::1]/", "Teredo"),
        ("http://[64:ff9b::7f00:1]/", "NAT64"),
    ],
)
def test_addresses_that_are_not_public_are_refused(url: str, why: str) -> None:
    with pytest.raises(urlguard.UnsafeUrl) as refused:
        urlguard.check(url)

    assert why in refused.value.message
    assert refused.value.details[0]["field"] == "url"


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f000001",  # … as one hex number
        "0x7f.0.0.1",  # hex first part
        "0177.0.0.1",  # octal first part
        "017700000001",  # octal, one number
        "127.1",  # short dotted form
        "10.1",
        "0x5d.0xb8.0xd8.0x22",  # even a public address in hex
        "093.184.216.34",  # leading zero reads as octal to some resolvers
        "127.0.0.1.",  # trailing dot
    ],
)
def test_numeric_host_forms_other_than_dotted_decimal_are_refused(host: str) -> None:
    with pytest.raises(urlguard.UnsafeUrl) as refused:
        urlguard.check(f"http://{host}/hook")

    assert "dotted decimal" in refused.value.message or "not a public" in refused.value.message


@pytest.mark.parametrize(
    "host",
    ["internal.example.com", "mixed.example.com", "rebind.example.com", "v6local.example.com"],
)
def test_names_resolving_to_any_non_public_address_are_refused(host: str) -> None:
    with pytest.raises(urlguard.UnsafeUrl) as refused:
        urlguard.check(f"https://{host}/hook")

    assert "public internet addresses only" in refused.value.message


def test_names_that_do_not_resolve_are_refused() -> None:
    with pytest.raises(urlguard.UnsafeUrl) as refused:
        urlguard.check("https://nowhere.example.net/hook")

    assert "does not resolve" in refused.value.message
