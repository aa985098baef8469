"""What each platform takes: its options (a JSON Schema), text and media limits, post types."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from api.deps import ViewerDep
from api.schemas import (
    ListEnvelope,
    ListMeta,
    MediaRulesPublic,
    PlatformPublic,
    PostTypePublic,
    TextRulesPublic,
)
from core.status import Platform
from providers.base import MediaRules
from providers.options import OPTIONS
from providers.registry import rules_for, supported_platforms

router = APIRouter(prefix="/v1/platforms", tags=["platforms"])


def _media_checks(rules: MediaRules | None) -> dict[str, Any]:
    if rules is None:
        return {}
    return {
        name: sorted(value) if isinstance(value, frozenset) else value
        for name, value in asdict(rules).items()
    }


def platform_view(platform: Platform) -> PlatformPublic:
    """One platform as its provider's rules and options model say, so the numbers published
    are the numbers checked."""
    rules = rules_for(platform)
    options = OPTIONS[platform]
    return PlatformPublic(
        platform=platform,
        options=options.json_schema(),
        text=TextRulesPublic(
            max_length=rules.max_text_length,
            unit=rules.unit,
            required=rules.requires_text_or_media,
        ),
        media=MediaRulesPublic(
            max_count=rules.max_media,
            required=rules.requires_media,
            checks=_media_checks(rules.media),
        ),
        post_types=[PostTypePublic(name=t.name, made_by=t.made_by) for t in options.post_types],
        drafts=rules.supports_drafts,
    )


@router.get("", response_model=ListEnvelope[PlatformPublic])
async def list_platforms(caller: ViewerDep) -> ListEnvelope[PlatformPublic]:
    """Every platform crier publishes to, with what it takes."""
    views = [platform_view(p) for p in supported_platforms()]
    return ListEnvelope(data=views, meta=ListMeta(count=len(views)))
