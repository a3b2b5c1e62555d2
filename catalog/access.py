"""Who may read or change catalog items.

Providers change only what belongs to their own organisation; curators and admins may read
unpublished items (they vet them); everyone else sees published items only.
"""

from __future__ import annotations

import uuid

from core.deps import Principal
from core.errors import Forbidden


def can_read_unpublished(principal: Principal | None, owner_org_id: uuid.UUID) -> bool:
    if principal is None:
        return False
    return principal.org_id == owner_org_id or principal.role in ("curator", "admin")


def ensure_owner(principal: Principal, owner_org_id: uuid.UUID, what: str) -> None:
    if principal.role != "provider" or principal.org_id != owner_org_id:
        raise Forbidden(f"Only the provider that owns this {what} can change it", code="not_owner")
