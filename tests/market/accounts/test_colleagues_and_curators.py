"""Invitations, deactivation, and admin-made agencies and curators."""

from __future__ import annotations

from tests.support import PASSWORD, Api


def _error(response) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return response.json()["error"]  # type: ignore[no-any-return]


def _invite(api: Api, headers: dict[str, str], email: str = "colleague@example.com") -> str:
    response = api.client.post(
        "/api/v1/organisations/me/invitations", headers=headers, json={"email": email}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _accept(api: Api, token: str):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": token, "name": "李四", "password": PASSWORD},
    )


def test_invited_colleague_joins_the_same_organisation_with_the_same_role(api: Api) -> None:
    provider = api.provider()
    accepted = _accept(api, _invite(api, provider.headers))
    assert accepted.status_code == 201
    user = accepted.json()
    assert user["org_id"] == str(provider.org_id)
    assert user["role"] == "provider"
    assert user["is_org_admin"] is False
    token = api.login("colleague@example.com")
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["provider_id"] == str(provider.provider_id)
    members = api.client.get("/api/v1/organisations/me/users", headers=provider.headers)
    assert {m["email"] for m in members.json()} == {provider.email, "colleague@example.com"}


def test_invitation_can_be_used_once(api: Api) -> None:
    sme = api.sme()
    token = _invite(api, sme.headers)
    assert _accept(api, token).status_code == 201
    again = _accept(api, token)
    assert again.status_code == 400
    assert _error(again)["code"] == "invalid_invitation"


def test_unknown_invitation_token_is_refused(api: Api) -> None:
    response = _accept(api, "inv_this-token-does-not-exist")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_invitation"


def test_only_org_admins_invite(api: Api) -> None:
    sme = api.sme()
    _accept(api, _invite(api, sme.headers))
    member = {"Authorization": f"Bearer {api.login('colleague@example.com')}"}
    response = api.client.post(
        "/api/v1/organisations/me/invitations", headers=member, json={"email": "x@example.com"}
    )
    assert response.status_code == 403
    assert _error(response)["code"] == "org_admin_required"


def test_inviting_an_existing_account_conflicts(api: Api) -> None:
    sme = api.sme()
    other = api.sme()
    response = api.client.post(
        "/api/v1/organisations/me/invitations", headers=sme.headers, json={"email": other.email}
    )
    assert response.status_code == 409
    assert _error(response)["code"] == "email_taken"


def test_org_admin_deactivates_colleague_who_is_logged_out_at_once(api: Api) -> None:
    sme = api.sme()
    colleague_id = _accept(api, _invite(api, sme.headers)).json()["id"]
    colleague = {"Authorization": f"Bearer {api.login('colleague@example.com')}"}
    response = api.client.post(f"/api/v1/users/{colleague_id}/deactivate", headers=sme.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert api.client.get("/api/v1/auth/me", headers=colleague).status_code == 401
    login = api.client.post(
        "/api/v1/auth/login", json={"email": "colleague@example.com", "password": PASSWORD}
    )
    assert login.status_code == 401


def test_cannot_deactivate_yourself_or_strangers(api: Api) -> None:
    sme = api.sme()
    other = api.sme()
    own = api.client.post(f"/api/v1/users/{sme.user_id}/deactivate", headers=sme.headers)
    assert own.status_code == 422
    assert _error(own)["code"] == "cannot_deactivate_self"
    stranger = api.client.post(f"/api/v1/users/{other.user_id}/deactivate", headers=sme.headers)
    assert stranger.status_code == 404
    assert api.client.get("/api/v1/auth/me", headers=other.headers).status_code == 200


def test_member_without_admin_right_cannot_deactivate(api: Api) -> None:
    sme = api.sme()
    _accept(api, _invite(api, sme.headers))
    member = {"Authorization": f"Bearer {api.login('colleague@example.com')}"}
    response = api.client.post(f"/api/v1/users/{sme.user_id}/deactivate", headers=member)
    assert response.status_code == 403
    assert _error(response)["code"] == "org_admin_required"


def test_platform_admin_deactivates_anyone_but_not_the_last_org_admin_lockout(api: Api) -> None:
    admin = api.admin()
    sme = api.sme()
    response = api.client.post(f"/api/v1/users/{sme.user_id}/deactivate", headers=admin.headers)
    assert response.status_code == 422
    assert _error(response)["code"] == "last_org_admin"
    _accept(api, _invite(api, sme.headers))
    colleague = api.client.get("/api/v1/organisations/me/users", headers=sme.headers).json()
    colleague_id = next(u["id"] for u in colleague if u["email"] == "colleague@example.com")
    response = api.client.post(f"/api/v1/users/{colleague_id}/deactivate", headers=admin.headers)
    assert response.status_code == 200


def test_admin_creates_agency_and_curator_bound_to_jurisdiction(api: Api) -> None:
    curator = api.curator(jurisdiction="320400")
    me = api.client.get("/api/v1/auth/me", headers=curator.headers).json()
    assert me["user"]["role"] == "curator"
    assert me["user"]["jurisdiction"] == "320400"
    assert me["organisation"]["kind"] == "agency"


def test_province_agency_may_have_city_curator_but_not_foreign_one(api: Api) -> None:
    admin = api.admin()
    agency = api.client.post(
        "/api/v1/admin/agencies",
        headers=admin.headers,
        json={"name": "广东省工业和信息化厅（示例）", "jurisdiction": "440000"},
    ).json()
    body = {
        "agency_id": agency["id"],
        "email": "dg@example.com",
        "name": "王五",
        "password": PASSWORD,
        "jurisdiction": "441900",
    }
    ok = api.client.post("/api/v1/admin/curators", headers=admin.headers, json=body)
    assert ok.status_code == 201
    assert ok.json()["jurisdiction"] == "441900"
    body.update(email="cz@example.com", jurisdiction="320400")
    refused = api.client.post("/api/v1/admin/curators", headers=admin.headers, json=body)
    assert refused.status_code == 422
    assert _error(refused)["details"][0]["field"] == "body.jurisdiction"


def test_curator_for_non_agency_org_is_refused(api: Api) -> None:
    admin = api.admin()
    sme = api.sme()
    body = {
        "agency_id": str(sme.org_id),
        "email": "c@example.com",
        "name": "赵六",
        "password": PASSWORD,
    }
    response = api.client.post("/api/v1/admin/curators", headers=admin.headers, json=body)
    assert response.status_code == 422
    assert _error(response)["details"][0]["field"] == "body.agency_id"


def test_only_admins_manage_agencies_and_curators(api: Api) -> None:
    body = {"name": "某局", "jurisdiction": "320400"}
    assert api.client.post("/api/v1/admin/agencies", json=body).status_code == 401
    for actor in (api.sme(), api.provider(), api.curator()):
        response = api.client.post("/api/v1/admin/agencies", headers=actor.headers, json=body)
        assert response.status_code == 403
        assert _error(response)["code"] == "role_required"
