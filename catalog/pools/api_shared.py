"""What the pools' routers share: the page parameters and the response helpers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response

from catalog.pools import (
    service,
)
from catalog.pools.models import (
    Pool,
)
from catalog.pools.schemas import (
    ApplicationOut,
    PoolOut,
)
from core.concurrency import set_etag
from core.deps import (
    DbSession,
)
from core.pagination import PageParams, page_params

Pages = Annotated[PageParams, Depends(page_params)]


def pool_response(session: DbSession, response: Response, pool: Pool) -> PoolOut:
    set_etag(response, pool.version)
    return service.pool_out(session, pool)


def application_response(
    response: Response, loaded: service.Loaded, viewer: service.Viewer
) -> ApplicationOut:
    set_etag(response, loaded.app.version)
    return service.to_out(loaded, viewer)
