"""Registration, login, tokens and browser sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core.database import utcnow
from market.accounts.models import AuthToken
from tests.support import PASSWORD, Api, credit_code


def _register_body(kind: str = "sme", **org: object) -> dict[str, object]:
    organisation: dict[str, object] = {
        "kind": kind,
        "name": "常州示例精工科技有限公司",
        "credit_code": credit_code(),
        "region_code": "320400",
    }
    if kind == "provider":
        organisation["provider_type"] = "product"
    organisation.update(org)
    return {
        "organisation": organisation,
        "user": {"email": "Owner@Example.com", "name": "张三", "password": PASSWORD},
    }


def _error(response) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return response.json()["error"]  # type: ignore[no-any-return]


def test_sme_registration_creates_org_and_admin_user(api: Api) -> None:
    response = api.client.post("/api/v1/auth/register", json=_register_body())
    assert response.status_code == 201
    body = response.json()
    assert body["organisation"]["kind"] == "sme"
    assert body["user"]["email"] == "owner@example.com"  # normalised
    assert body["user"]["role"] == "sme"
    assert body["user"]["is_org_admin"] is True
    assert body["provider_id"] is None


def test_provider_registration_creates_provider_profile(api: Api) -> None:
    response = api.client.post("/api/v1/auth/register", json=_register_body("provider"))
    assert response.status_code == 201
    provider_id = response.json()["provider_id"]
    # Not yet vetted, so not public: the new provider reads its own profile.
    headers = {"Authorization": f"Bearer {api.login('owner@example.com')}"}
    profile = api.client.get(f"/api/v1/providers/{provider_id}", headers=headers)
    assert profile.status_code == 200
    assert profile.json()["legal_name"] == "常州示例精工科技有限公司"
    assert profile.json()["registered_region"] == "320400"


def test_registration_rejects_bad_credit_code_naming_the_field(api: Api) -> None:
    body = _register_body(credit_code="91320400000000000K")
    response = api.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "body.organisation.credit_code"
    assert "check character" in error["details"][0]["message"]


def test_registration_rejects_unknown_region_and_missing_provider_type(api: Api) -> None:
    response = api.client.post("/api/v1/auth/register", json=_register_body(region_code="999999"))
    assert response.status_code == 422
    assert _error(response)["details"][0]["field"] == "body.organisation.region_code"
    body = _register_body("provider")
    del body["organisation"]["provider_type"]  # type: ignore[attr-defined]
    response = api.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert "provider_type is required" in _error(response)["details"][0]["message"]


def test_registration_refuses_privileged_fields(api: Api) -> None:
    body = _register_body()
    body["user"]["role"] = "admin"  # type: ignore[index]
    response = api.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert _error(response)["details"][0]["field"] == "body.user.role"
    assert _error(response)["details"][0]["type"] == "extra_forbidden"


def test_registration_refuses_weak_password(api: Api) -> None:
    body = _register_body()
    body["user"]["password"] = "12345678901"  # type: ignore[index]
    response = api.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert _error(response)["details"][0]["field"] == "body.user.password"


def test_duplicate_email_and_credit_code_conflict(api: Api) -> None:
    first = _register_body()
    assert api.client.post("/api/v1/auth/register", json=first).status_code == 201
    same_email = _register_body()
    response = api.client.post("/api/v1/auth/register", json=same_email)
    assert response.status_code == 409
    assert _error(response)["code"] == "email_taken"
    same_code = _register_body(credit_code=first["organisation"]["credit_code"])  # type: ignore[index]
    same_code["user"]["email"] = "other@example.com"  # type: ignore[index]
    response = api.client.post("/api/v1/auth/register", json=same_code)
    assert response.status_code == 409
    assert _error(response)["code"] == "credit_code_taken"


def test_login_returns_token_that_identifies_the_user(api: Api) -> None:
    sme = api.sme()
    me = api.client.get("/api/v1/auth/me", headers=sme.headers)
    assert me.status_code == 200
    assert me.json()["user"]["email"] == sme.email
    assert me.json()["organisation"]["kind"] == "sme"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(api: Api) -> None:
    sme = api.sme()
    for email in (sme.email, "nobody@example.com"):
        response = api.client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong-password-1"}
        )
        assert response.status_code == 401
        assert _error(response)["code"] == "invalid_credentials"


def test_repeated_failures_throttle_the_account_with_retry_hint(api: Api) -> None:
    sme = api.sme()
    bad = {"email": sme.email, "password": "wrong-password-1"}
    for _ in range(5):
        assert api.client.post("/api/v1/auth/login", json=bad).status_code == 401
    good = {"email": sme.email, "password": PASSWORD}
    response = api.client.post("/api/v1/auth/login", json=good)
    assert response.status_code == 429
    assert _error(response)["code"] == "login_throttled"
    retry = int(response.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    assert _error(response)["details"]["retry_after_seconds"] == retry


def test_failures_from_one_address_throttle_all_accounts(api: Api) -> None:
    api.client.app.state.settings.login_max_failures_per_address = 3  # type: ignore[attr-defined]
    for i in range(3):
        body = {"email": f"guess{i}@example.com", "password": "wrong-password-1"}
        assert api.client.post("/api/v1/auth/login", json=body).status_code == 401
    sme_body = {"email": "someone-else@example.com", "password": "wrong-password-1"}
    response = api.client.post("/api/v1/auth/login", json=sme_body)
    assert response.status_code == 429


def test_successful_login_clears_account_failures(api: Api) -> None:
    sme = api.sme()
    bad = {"email": sme.email, "password": "wrong-password-1"}
    for _ in range(4):
        api.client.post("/api/v1/auth/login", json=bad)
    api.login(sme.email)
    for _ in range(4):
        assert api.client.post("/api/v1/auth/login", json=bad).status_code == 401


def test_logout_revokes_the_token(api: Api) -> None:
    sme = api.sme()
    assert api.client.post("/api/v1/auth/logout", headers=sme.headers).status_code == 204
    response = api.client.get("/api/v1/auth/me", headers=sme.headers)
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_token"


def test_expired_token_is_refused(api: Api) -> None:
    sme = api.sme()
    with api.db.transaction() as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.user_id == sme.user_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert api.client.get("/api/v1/auth/me", headers=sme.headers).status_code == 401


def test_malformed_authorization_header_is_refused(api: Api) -> None:
    response = api.client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_token"


def test_anonymous_call_to_private_endpoint_says_how_to_log_in(api: Api) -> None:
    response = api.client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert _error(response)["code"] == "authentication_required"
    assert "/api/v1/auth/login" in _error(response)["message"]


def test_password_change_revokes_other_tokens_but_keeps_current(api: Api) -> None:
    sme = api.sme()
    other_token = api.login(sme.email)
    new_password = "a-new-secret-77"
    response = api.client.post(
        "/api/v1/auth/password",
        headers=sme.headers,
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert response.status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=sme.headers).status_code == 200
    other = {"Authorization": f"Bearer {other_token}"}
    assert api.client.get("/api/v1/auth/me", headers=other).status_code == 401
    assert api.login(sme.email, new_password)


def test_password_change_with_wrong_current_password_is_refused(api: Api) -> None:
    sme = api.sme()
    response = api.client.post(
        "/api/v1/auth/password",
        headers=sme.headers,
        json={"current_password": "not-it-at-all-1", "new_password": "a-new-secret-77"},
    )
    assert response.status_code == 422
    assert _error(response)["details"][0]["field"] == "body.current_password"
    assert api.client.get("/api/v1/auth/me", headers=sme.headers).status_code == 200


def test_browser_session_needs_csrf_token_for_writes(api: Api) -> None:
    sme = api.sme()
    opened = api.client.post(
        "/api/v1/auth/session", json={"email": sme.email, "password": PASSWORD}
    )
    assert opened.status_code == 200
    assert "httponly" in opened.headers["set-cookie"].lower()
    csrf = opened.json()["csrf_token"]
    assert api.client.get("/api/v1/auth/me").status_code == 200  # cookie is enough to read
    refused = api.client.post("/api/v1/auth/logout")
    assert refused.status_code == 403
    assert _error(refused)["code"] == "csrf_failed"
    wrong = api.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    done = api.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 204
    api.client.cookies.clear()
    assert api.client.get("/api/v1/auth/me").status_code == 401
