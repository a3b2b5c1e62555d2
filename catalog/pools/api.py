"""Routes for resource pools (资源池), applications, reviews, objections and listings, and for
the management of listings: sanctions, appeals, re-reviews, reported changes, evidence
documents, and the import and export of pool lists.

One router per area; this module combines them into the one ``router`` the app includes.
"""

from __future__ import annotations

from fastapi import APIRouter

from catalog.pools import (
    api_applications,
    api_evidence,
    api_pools,
    api_rereview,
    api_sanctions,
)

router = APIRouter()
for area in (api_pools, api_applications, api_sanctions, api_rereview, api_evidence):
    router.include_router(area.router)
