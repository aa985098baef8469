"""Edits of a post's own targets in a PATCH (seed 004: "PATCH … works on draft and scheduled
posts including their targets"), each named by its account.

Only the fields an edit gives change; a null override goes back to the post's text or media.
Targets are not added or removed by an edit: a delivery that may already be scheduled is
started or cancelled by its own calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.errors import problem
from api.schemas import TargetEdit
from core.models import Target


class TargetEdits:
    def __init__(self, edits: Sequence[TargetEdit], targets: Sequence[Target]) -> None:
        self._given = list(edits)
        self._owned = {t.account_id for t in targets}
        self._by_account = {e.account_id: e for e in edits}
        self._index = {e.account_id: i for i, e in enumerate(edits)}

    def problems(self) -> list[dict[str, Any]]:
        """An edit naming an account the post has no target for, or one named twice."""
        found = []
        seen: set[str] = set()
        for index, edit in enumerate(self._given):
            loc: list[str | int] = ["body", "targets", index, "account_id"]
            if edit.account_id not in self._owned:
                found.append(problem(loc, "the post has no target for this account"))
            elif edit.account_id in seen:
                found.append(problem(loc, "this account's target is already edited"))
            seen.add(edit.account_id)
        return found

    def loc(self, target: Target) -> list[str | int]:
        """Where the request edits this target (its post-level fields when it does not)."""
        index = self._index.get(target.account_id)
        return ["body", "targets", index] if index is not None else ["body"]

    def changes_text(self, target: Target) -> bool:
        edit = self._by_account.get(target.account_id)
        return edit is not None and "override_body" in edit.model_fields_set

    def changes_media(self, target: Target) -> bool:
        edit = self._by_account.get(target.account_id)
        # The object form marks the plain one as given too (api/schemas.py MediaForms).
        return edit is not None and "override_media_urls" in edit.model_fields_set

    def text(self, target: Target) -> str | None:
        """The target's own text after the edit; None: the post's."""
        if self.changes_text(target):
            return self._by_account[target.account_id].override_body
        return target.override_body

    def media(self, target: Target) -> list[str] | None:
        """The target's own media after the edit; None: the post's."""
        if self.changes_media(target):
            urls = self._by_account[target.account_id].override_media_urls
            return None if urls is None else [str(u) for u in urls]
        return target.override_media_urls

    def alt(self, target: Target) -> list[str | None] | None:
        if self.changes_media(target):
            return self._by_account[target.account_id].override_alt()
        return target.override_media_alt

    def apply(self, targets: Sequence[Target]) -> list[Target]:
        """The edits written onto the targets they name; those targets."""
        changed = []
        for target in targets:
            if not (self.changes_text(target) or self.changes_media(target)):
                continue
            target.override_body = self.text(target)
            target.override_media_urls = self.media(target)
            target.override_media_alt = self.alt(target)
            changed.append(target)
        return changed
