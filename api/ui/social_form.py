"""The schedule form read into the API's create body, and every problem in words for the page.

Field names follow the pages' contract: one `account` checkbox per account, and per account
`mode_<id>`, `override_body_<id>` and `override_media_<id>`, so they are read from the raw form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from starlette.datastructures import FormData

from api.errors import ApiError
from api.schemas import PostCreate
from api.services.deliveries import PAST_TOLERANCE, within_grace
from core.config import Settings
from core.db import utcnow
from core.models import Account
from core.status import TargetMode

MODES = {TargetMode.PUBLISH.value: "Publish", TargetMode.DRAFT.value: "Save as draft"}
FIELD_MAX = 100_000


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:FIELD_MAX] if isinstance(value, str) else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class ScheduleForm:
    """What the person typed, kept as typed so a refused form comes back unchanged."""

    body: str = ""
    media_urls: str = ""
    when: str = ""
    timezone: str = "UTC"
    accounts: list[str] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)
    override_body: dict[str, str] = field(default_factory=dict)
    override_media: dict[str, str] = field(default_factory=dict)
    form_id: str = ""

    @classmethod
    def read(cls, form: FormData, accounts: list[Account]) -> ScheduleForm:
        ids = [a.id for a in accounts]
        ticked = [v for v in form.getlist("account") if isinstance(v, str)]
        return cls(
            body=_text(form, "body"),
            media_urls=_text(form, "media_urls"),
            when=_text(form, "when").strip(),
            timezone=_text(form, "timezone").strip() or "UTC",
            # Ticked boxes in the page's order; an id not among the project's is reported.
            accounts=list(dict.fromkeys(ticked)),
            modes={i: _text(form, f"mode_{i}") or TargetMode.PUBLISH.value for i in ids},
            override_body={i: _text(form, f"override_body_{i}") for i in ids},
            override_media={i: _text(form, f"override_media_{i}") for i in ids},
            form_id=_text(form, "form_id")[:64],
        )


def when_of(form: ScheduleForm, settings: Settings) -> tuple[datetime | None, list[str]]:
    """The moment the form names (None: now), or the problems with it."""
    try:
        zone = ZoneInfo(form.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None, [f"Time zone: {form.timezone!r} is not a time zone (an IANA name)."]
    if not form.when:
        return None, []
    try:
        naive = datetime.fromisoformat(form.when)
    except ValueError:
        return None, ["Date and time: give them as date and time."]
    moment = naive if naive.tzinfo is not None else naive.replace(tzinfo=zone)
    if moment < utcnow() - PAST_TOLERANCE and not within_grace(
        moment, settings.missed_grace_period
    ):
        return None, [
            f"Date and time: {form.when} in {form.timezone} is in the past; pick a later time, "
            "or leave it empty to publish now."
        ]
    return moment, []


def payload_of(
    form: ScheduleForm, project_id: str, accounts: list[Account]
) -> tuple[PostCreate | None, list[str]]:
    """The create body the form means, or the problems that stop it being one."""
    known = {a.id: a for a in accounts}
    problems = []
    if not form.accounts:
        problems.append("Accounts: tick one or more accounts to post to.")
    unknown = [i for i in form.accounts if i not in known]
    if unknown:
        problems.append("Accounts: some ticked accounts are not this project's active ones.")
    bad_modes = [known[i] for i in form.accounts if i in known and form.modes[i] not in MODES]
    problems += [f"{label(a)}: choose Publish or Save as draft." for a in bad_modes]
    if problems:
        return None, problems
    targets: list[dict[str, Any]] = []
    for account_id in form.accounts:
        target: dict[str, Any] = {"account_id": account_id, "mode": form.modes[account_id]}
        if form.override_body[account_id].strip():
            target["override_body"] = form.override_body[account_id]
        if _lines(form.override_media[account_id]):
            target["override_media_urls"] = _lines(form.override_media[account_id])
        targets.append(target)
    raw = {
        "body": form.body,
        "media_urls": _lines(form.media_urls),
        "targets": targets,
        "project_id": project_id,
    }
    try:
        return PostCreate.model_validate(raw), []
    except ValidationError as invalid:
        return None, [
            _words(list(error["loc"]), error["msg"], form, known) for error in invalid.errors()
        ]


def label(account: Account) -> str:
    return f"{account.platform.value} · {account.display_name}"


def _words(loc: list[Any], msg: str, form: ScheduleForm, known: dict[str, Account]) -> str:
    """A problem's place in the form, as the page names it."""
    place = {"body": "Text", "media_urls": "Media", "targets": "Accounts"}.get(
        str(loc[0]) if loc else "", "Post"
    )
    if loc[:1] == ["targets"] and len(loc) > 1 and isinstance(loc[1], int):
        account = known.get(form.accounts[loc[1]]) if loc[1] < len(form.accounts) else None
        place = label(account) if account is not None else place
        rest = {"override_body": "own text", "override_media_urls": "own media"}
        place += "".join(f" {rest[str(x)]}" for x in loc[2:3] if str(x) in rest)
    if place.endswith(("Media", "own media")) and len(loc) > 1 and isinstance(loc[-1], int):
        place += f" line {loc[-1] + 1}"
    return f"{place}: {msg}."


def api_problems(error: ApiError, form: ScheduleForm, accounts: list[Account]) -> list[str]:
    """A refusal of the API's create or publish, in the page's words."""
    known = {a.id: a for a in accounts}
    details = [_detail(d["loc"], d["msg"], form, known) for d in error.details]
    return details or [f"{error.message}."]


def _detail(loc: list[Any], msg: str, form: ScheduleForm, known: dict[str, Account]) -> str:
    inside = loc[1:] if loc[:1] == ["body"] and len(loc) > 1 else loc  # the request's body
    return _words(inside, msg, form, known)
