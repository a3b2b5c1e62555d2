"""Evidence documents: type, magic bytes and size checks, generated storage names outside the
code, putting documents forward with applications, and who may download them."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.pools.models import PoolReview
from catalog.pools.storage import LocalDirectoryStorage, StorageError
from core.settings import Settings
from tests.catalog.pools.test_application_lifecycle import HIGH, Flow, new_flow, score_body
from tests.catalog.pools.test_pool_management import error, error_fields
from tests.catalog.pools.test_sanctions_and_appeals import get, ok, post
from tests.support import Actor, Api

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20)
MAX_MB = 1


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def settings(database_url: str, upload_dir: Path) -> Settings:
    """The app under test keeps uploads in a scratch directory, with a 1 MB limit."""
    return Settings(
        env="test", database_url=database_url, upload_dir=str(upload_dir), max_upload_mb=MAX_MB
    )


def upload(
    api: Api,
    actor: Actor | None,
    content: bytes,
    *,
    name: str = "营业执照.pdf",
    media_type: str = "application/pdf",
    kind: str = "licence",
) -> httpx.Response:
    headers = actor.headers if actor else None
    return api.client.post(
        "/api/v1/evidence",
        files={"file": (name, content, media_type)},
        data={"kind": kind},
        headers=headers,
    )


def uploaded(api: Api, actor: Actor, content: bytes = PDF, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(upload(api, actor, content, **kwargs))
    return result


@pytest.fixture
def flow(api: Api) -> Flow:
    return new_flow(api)


# --- uploading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (PDF, "营业执照.pdf", "application/pdf"),
        (PNG, "证书.png", "image/png"),
        (JPEG, "案例.jpg", "image/jpeg"),
        (JPEG, "scan.jpeg", "image/jpg"),
    ],
)
def test_pdf_jpeg_and_png_are_stored_under_a_generated_name(
    flow: Flow, upload_dir: Path, content: bytes, name: str, media_type: str
) -> None:
    document = uploaded(flow.api, flow.provider, content, name=name, media_type=media_type)

    assert document["filename"] == name
    assert document["size_bytes"] == len(content)
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    stored = [p for p in upload_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert stored[0].read_bytes() == content
    assert name not in stored[0].name
    assert stored[0].stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("content", "media_type", "status", "code"),
    [
        (PNG, "application/pdf", 415, "unsupported_media_type"),
        (
            b"<html><script>alert(1)</script></html>",
            "application/pdf",
            415,
            "unsupported_media_type",
        ),
        (b"MZ\x90\x00 executable", "image/png", 415, "unsupported_media_type"),
        (PDF, "text/html", 415, "unsupported_media_type"),
        (PDF, "application/octet-stream", 415, "unsupported_media_type"),
        (b"", "application/pdf", 422, "validation_error"),
        (PDF + bytes(MAX_MB * 1024 * 1024), "application/pdf", 413, "payload_too_large"),
    ],
)
def test_wrong_type_wrong_magic_empty_and_oversized_files_are_refused(
    flow: Flow, upload_dir: Path, content: bytes, media_type: str, status: int, code: str
) -> None:
    response = upload(flow.api, flow.provider, content, media_type=media_type)

    assert response.status_code == status, response.text
    assert error(response)["code"] == code
    assert not upload_dir.exists() or not any(p.is_file() for p in upload_dir.rglob("*"))


def test_a_file_of_exactly_the_limit_is_accepted(flow: Flow) -> None:
    content = PDF + bytes(MAX_MB * 1024 * 1024 - len(PDF))

    assert upload(flow.api, flow.provider, content).status_code == 201


def test_path_parts_and_control_characters_leave_the_file_name(
    flow: Flow, upload_dir: Path
) -> None:
    document = uploaded(flow.api, flow.provider, name="..\\..\\etc/pass\u202ewd.pdf")

    assert document["filename"] == "passwd.pdf"
    assert all(p.resolve().is_relative_to(upload_dir.resolve()) for p in upload_dir.rglob("*"))


def test_unknown_kind_is_refused(flow: Flow) -> None:
    response = upload(flow.api, flow.provider, PDF, kind="selfie")

    assert response.status_code == 422
    assert error_fields(response) == ["body.kind"]


def test_the_store_refuses_a_directory_inside_the_code(tmp_path: Path) -> None:
    inside = Path(__file__).resolve().parents[3] / "market" / "web" / "static" / "uploads"

    with pytest.raises(StorageError):
        LocalDirectoryStorage(inside)
    assert not inside.exists()
    store = LocalDirectoryStorage(tmp_path / "ok")
    with pytest.raises(ValueError, match="storage key"):
        store.open("../../etc/passwd")


# --- putting documents forward -----------------------------------------------------------------


def test_documents_go_with_the_application_and_later_until_it_is_decided(flow: Flow) -> None:
    licence = uploaded(flow.api, flow.provider)
    case = uploaded(
        flow.api, flow.provider, PNG, name="case.png", media_type="image/png", kind="case_proof"
    )
    flow.submitted(evidence_ids=[licence["id"]])

    attached = ok(
        post(
            flow.api,
            flow.provider,
            f"/applications/{flow.app['id']}/evidence",
            {"document_ids": [case["id"], licence["id"]]},
        )
    )

    assert [(d["id"], d["purpose"]) for d in attached] == [
        (licence["id"], "application"),
        (case["id"], "application"),
    ]
    as_curator = ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/evidence"))
    assert [d["id"] for d in as_curator] == [licence["id"], case["id"]]
    mine = ok(get(flow.api, flow.provider, "/evidence/mine"))
    assert {d["id"] for d in mine} == {licence["id"], case["id"]}

    flow.ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(r.user_id) for r in flow.reviewers]})
    for reviewer in flow.reviewers:
        flow.ok(reviewer, "score", score_body(HIGH))
    flow.ok(flow.curator, "decision", {"decision": "approve"})
    late = post(
        flow.api,
        flow.provider,
        f"/applications/{flow.app['id']}/evidence",
        {"document_ids": [case["id"]]},
    )
    assert late.status_code == 409
    assert error(late)["code"] == "invalid_transition"


def test_only_your_own_documents_can_be_put_forward(flow: Flow) -> None:
    rival = flow.api.provider()
    theirs = uploaded(flow.api, rival)

    response = flow.apply(evidence_ids=[theirs["id"]])

    assert response.status_code == 422
    assert error_fields(response) == ["body.evidence_ids.0"]


# --- downloading -------------------------------------------------------------------------------


def download(api: Api, actor: Actor | None, document: dict[str, Any]) -> httpx.Response:
    headers = actor.headers if actor else None
    return api.client.get(f"/api/v1/evidence/{document['id']}/download", headers=headers)


def test_owner_curators_and_assigned_reviewers_download_others_are_told_nothing(
    flow: Flow,
) -> None:
    api = flow.api
    document = uploaded(api, flow.provider, name="营业执照 2024.pdf")
    flow.submitted(evidence_ids=[document["id"]])
    # An outside expert assigned to this application (today's reviewers are curators, but
    # the rule is about the assignment).
    expert, stranger = api.curator(jurisdiction="440000"), api.curator(jurisdiction="440000")
    with api.db.transaction() as session:
        session.add(
            PoolReview(
                application_id=uuid.UUID(flow.app["id"]),
                reviewer_user_id=expert.user_id,
                assigned_by_user_id=flow.curator.user_id,
                conflict_note="",
            )
        )

    for actor in (flow.provider, flow.curator, flow.team.admin, expert):
        response = download(api, actor, document)
        assert response.status_code == 200, response.text
        assert response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert "filename*=UTF-8''%E8%90%A5" in response.headers["content-disposition"]
        assert response.headers["x-content-type-options"] == "nosniff"
    for actor in (stranger, api.provider(), api.sme()):
        response = download(api, actor, document)
        assert response.status_code == 404
        assert error(response)["code"] == "evidence_not_found"
    assert download(api, None, document).status_code == 401


def test_a_document_not_put_forward_is_the_owners_alone(flow: Flow) -> None:
    document = uploaded(flow.api, flow.provider)

    assert download(flow.api, flow.provider, document).status_code == 200
    assert download(flow.api, flow.curator, document).status_code == 404


def test_evidence_lists_follow_the_application_rules(flow: Flow) -> None:
    document = uploaded(flow.api, flow.provider)
    flow.submitted(evidence_ids=[document["id"]])
    path = f"/applications/{flow.app['id']}/evidence"

    assert get(flow.api, flow.api.provider(), path).status_code == 404
    assert get(flow.api, flow.api.curator(), path).status_code == 404
    assert get(flow.api, None, path).status_code == 401
    attach = post(flow.api, flow.api.provider(), path, {"document_ids": [document["id"]]})
    assert attach.status_code == 404


def test_a_missing_file_is_reported_not_crashed(flow: Flow, upload_dir: Path) -> None:
    document = uploaded(flow.api, flow.provider)
    for stored in upload_dir.rglob("*.pdf"):
        stored.unlink()

    response = download(flow.api, flow.provider, document)

    assert response.status_code == 404
    assert error(response)["code"] == "evidence_file_missing"


def test_uploads_are_for_provider_accounts(flow: Flow) -> None:
    for actor in (flow.curator, flow.api.sme()):
        response = upload(flow.api, actor, PDF)
        assert response.status_code == 403
        assert error(response)["code"] == "role_required"
    assert upload(flow.api, None, PDF).status_code == 401
