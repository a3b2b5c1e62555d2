"""Who may manage and read webhooks: every caller against every endpoint, on its own
organisation's endpoint and on another's; and who may set e-mail choices."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from market.webhooks import urlguard
from tests.market.rfqs.test_rfq_authorization import colleague_headers
from tests.market.rfqs.test_rfq_flow import code
from tests.support import Actor, Api

WEBHOOKS = "/api/v1/webhooks"
ROLES = ("anonymous", "owner", "colleague", "other_owner", "provider_owner", "curator", "admin")
NOT_MARKET = (403, "role_required")
NOT_ADMIN = (403, "org_admin_required")
HIDDEN = (404, "webhook_not_found")


@pytest.fixture(autouse=True)
def resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        urlguard, "resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")]
    )


def headers_of(api: Api, owner: Actor, role: str) -> dict[str, str]:
    makers: dict[str, Callable[[], dict[str, str]]] = {
        "anonymous": lambda: {},
        "owner": lambda: owner.headers,
        "colleague": lambda: colleague_headers(api, owner),
        "other_owner": lambda: api.sme().headers,
        "provider_owner": lambda: api.provider().headers,
        "curator": lambda: api.curator().headers,
        "admin": lambda: api.admin().headers,
    }
    return makers[role]()


def endpoint_of(api: Api, owner: Actor) -> str:
    response = api.client.post(
        WEBHOOKS,
        json={"url": "https://hooks.example.com/x", "topics": ["dispute"]},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def check(
    response_status: int, response_code: str | None, expected: tuple[int, str | None]
) -> None:
    assert (response_status, response_code if expected[1] else None) == expected


REGISTER = {
    "anonymous": (401, "authentication_required"),
    "owner": (201, None),
    "colleague": NOT_ADMIN,
    "other_owner": (201, None),
    "provider_owner": (201, None),
    "curator": NOT_MARKET,
    "admin": NOT_MARKET,
}
READ = {
    "anonymous": (401, "authentication_required"),
    "owner": (200, None),
    "colleague": (200, None),
    "other_owner": (200, None),
    "provider_owner": (200, None),
    "curator": NOT_MARKET,
    "admin": NOT_MARKET,
}
DELETE = {
    "anonymous": (401, "authentication_required"),
    "owner": (204, None),
    "colleague": NOT_ADMIN,
    "other_owner": HIDDEN,
    "provider_owner": HIDDEN,
    "curator": NOT_MARKET,
    "admin": NOT_MARKET,
}


def _code(body: bytes, status: int) -> str | None:
    import json

    if status < 400:
        return None
    return str(json.loads(body)["error"]["code"])


@pytest.mark.parametrize("role", ROLES)
def test_registering(api: Api, role: str) -> None:
    owner = api.sme()
    response = api.client.post(
        WEBHOOKS,
        json={"url": "https://hooks.example.com/x", "topics": ["rfq"]},
        headers=headers_of(api, owner, role),
    )

    check(response.status_code, _code(response.content, response.status_code), REGISTER[role])


@pytest.mark.parametrize("path", ["", "/deliveries"])
@pytest.mark.parametrize("role", ROLES)
def test_reading_endpoints_and_the_log_shows_only_ones_own(api: Api, role: str, path: str) -> None:
    owner = api.sme()
    endpoint_id = endpoint_of(api, owner)

    response = api.client.get(WEBHOOKS + path, headers=headers_of(api, owner, role))

    check(response.status_code, _code(response.content, response.status_code), READ[role])
    if response.status_code == 200 and path == "":
        ids = [e["id"] for e in response.json()]
        assert (endpoint_id in ids) is (role in ("owner", "colleague"))


@pytest.mark.parametrize("role", ROLES)
def test_deleting_ones_own_or_anothers_endpoint(api: Api, role: str) -> None:
    owner = api.sme()
    endpoint_id = endpoint_of(api, owner)

    response = api.client.delete(f"{WEBHOOKS}/{endpoint_id}", headers=headers_of(api, owner, role))

    check(response.status_code, _code(response.content, response.status_code), DELETE[role])
    still_there = [e["id"] for e in api.client.get(WEBHOOKS, headers=owner.headers).json()]
    assert (endpoint_id in still_there) is (role != "owner")


@pytest.mark.parametrize("role", ROLES)
def test_each_user_sets_only_their_own_mail_choices(api: Api, role: str) -> None:
    owner = api.sme()
    headers = headers_of(api, owner, role)

    response = api.client.put(
        "/api/v1/me/mail-preferences", json={"choices": ["disputes"]}, headers=headers
    )

    if role == "anonymous":
        assert response.status_code == 401
        assert code(response) == "authentication_required"
        return
    assert response.status_code == 200, response.text
    assert response.json()["choices"] == ["disputes"]
    mine = api.client.get("/api/v1/me/mail-preferences", headers=owner.headers).json()
    assert mine["choices"] == (["disputes"] if role == "owner" else [])
