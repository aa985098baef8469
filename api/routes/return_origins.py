"""The origins OAuth's `return_to` may send a browser back to, per tenant and mode."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import return_origins
from api.deps import SessionDep, SettingsDep, TenantManagerDep, ViewerDep
from api.schemas import Envelope, ListEnvelope, ListMeta, ReturnOriginCreate, ReturnOriginPublic
from core.models import ReturnOrigin

router = APIRouter(prefix="/v1/oauth/return-origins", tags=["accounts"])


def _view(row: ReturnOrigin) -> ReturnOriginPublic:
    return ReturnOriginPublic(id=row.id, origin=row.origin, created_at=row.created_at)


@router.get("", response_model=ListEnvelope[ReturnOriginPublic])
async def list_return_origins(
    caller: ViewerDep, session: SessionDep
) -> ListEnvelope[ReturnOriginPublic]:
    rows = await return_origins.list_origins(session=session, caller=caller)
    return ListEnvelope(data=[_view(r) for r in rows], meta=ListMeta(count=len(rows)))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ReturnOriginPublic],
    responses={200: {"description": "Already registered: the existing registration"}},
)
async def register_return_origin(
    body: ReturnOriginCreate,
    caller: TenantManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> Envelope[ReturnOriginPublic]:
    """Let `return_to` go to this origin (scheme://host[:port]) for this key's mode."""
    row, added = await return_origins.register_origin(
        session=session, caller=caller, settings=settings, origin=body.origin
    )
    if not added:
        response.status_code = status.HTTP_200_OK
    return Envelope(data=_view(row))


@router.delete("/{origin_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_return_origin(
    origin_id: str, caller: TenantManagerDep, session: SessionDep
) -> Response:
    """A connect already under way is not sent back to a removed origin either."""
    await return_origins.remove_origin(session=session, caller=caller, origin_id=origin_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
