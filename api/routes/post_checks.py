"""The dry run of a create: `POST /v1/posts/validate`."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ManagerDep, MediaCheckerDep, SessionDep, SettingsDep
from api.schemas import Envelope, PostCheck, PostCreate
from api.services.post_check import check_post

router = APIRouter(prefix="/v1/posts", tags=["posts"])


@router.post("/validate", response_model=Envelope[PostCheck])
async def validate_post(
    payload: PostCreate,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    media: MediaCheckerDep,
) -> Envelope[PostCheck]:
    """The create body, checked as create checks it (accounts, text, media, options, the
    approval floor), with what each target would send its platform. Nothing is stored and
    nothing is scheduled, so no Idempotency-Key is needed. A body with problems answers 200
    listing them (`valid` false); a body that is not a create body is a 422."""
    checked = await check_post(
        session=session,
        caller=caller,
        media=media,
        payload=payload,
        media_cap=settings.media_urls_per_request,
    )
    return Envelope(data=checked)
