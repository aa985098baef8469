"""Bluesky through the AT Protocol's XRPC API on the account's PDS (PLATFORMS.md §7).

Images go up as blobs in `prepare` and are referenced by the post record in `publish`. The PDS
deletes a blob no record references within minutes, so nothing must wait between the two.

`prepare` also fixes the post's record key (a TID, as the PDS would mint), so every try of
`publish` writes to the same key: the PDS refuses a second record there, and `find_published`
asks `getRecord` for that key. A lookup that misses the key reads the account's recent records
too (`listRecords`), for an attempt made under another key: a run of the target before this one
prepared its own, or a publish made without `prepare`, where the PDS picked the key.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import (
    READY,
    AccountCredentials,
    MediaRules,
    NotCheckable,
    PlatformRules,
    PostContent,
    Preparation,
    Published,
    Readiness,
)
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)
from providers.http import answered

# XRPC error names → taxonomy. Branch on the name before the status: an expired access token
# comes back as HTTP 400 `ExpiredToken`, which the status alone would call a content error.
AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown"}
RATE_LIMIT_ERRORS = {"RateLimitExceeded"}
POST = "app.bsky.feed.post"
MAX_BLOB_BYTES = 2_000_000
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?\"')]}"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto TID spec)
LOOKUP_PAGE_SIZE = 100  # listRecords' maximum `limit`
MAX_LOOKUP_PAGES = 3
# Our record key is minted at prepare, and publish may be retried for a while after it: a key
# this much older than the attempt cannot be the attempt's, so listing stops there.
KEY_AGE_LIMIT = timedelta(hours=6)

# No grapheme library is installed, so this follows UAX #29's extended grapheme rules closely
# enough for what people post: combining marks, ZWJ emoji sequences, skin tones, flags, Hangul.
# It omits Prepend and Indic conjunct (GB9c) rules, where it may count one cluster too many.


def _is_extend(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D  # ZWJ
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _is_pictographic(char: str) -> bool:
    code = ord(char)
    if 0x1F1E6 <= code <= 0x1F1FF:
        return False  # regional indicators pair into flags by their own rule
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2300 <= code <= 0x23FF
        or 0x2B00 <= code <= 0x2BFF
        or code in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D)
    )


def _hangul(char: str) -> str:
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


def _joins(prev: str, char: str, emoji_zwj: bool, flags: int) -> bool:
    if prev == "\r" and char == "\n":
        return True
    if {unicodedata.category(prev), unicodedata.category(char)} & {"Cc", "Zl", "Zp"}:
        return False
    before, after = _hangul(prev), _hangul(char)
    if (before == "L" and after in ("L", "V", "LV", "LVT")) or (
        (before in ("LV", "V") and after in ("V", "T")) or (before in ("LVT", "T") and after == "T")
    ):
        return True
    if _is_extend(char):
        return True
    if emoji_zwj and prev == "\u200d" and _is_pictographic(char):
        return True
    return 0x1F1E6 <= ord(char) <= 0x1F1FF and flags % 2 == 1


def grapheme_length(text: str) -> int:
    """User-perceived characters, as Bluesky counts its 300 (see the note above _is_extend)."""
    count = 0
    prev = ""
    emoji_zwj = False  # inside ExtPict Extend* ZWJ, so the next pictograph joins (GB11)
    flags = 0  # regional indicators run length: they pair up into flags (GB12/13)
    for char in text:
        if not prev or not _joins(prev, char, emoji_zwj, flags):
            count += 1
            emoji_zwj = _is_pictographic(char)
        elif not (_is_extend(char) or _is_pictographic(char)):
            emoji_zwj = False
        flags = flags + 1 if 0x1F1E6 <= ord(char) <= 0x1F1FF else 0
        prev = char
    return count


def link_facets(text: str) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet` links for each http(s) URL, with offsets in UTF-8 bytes."""
    facets: list[dict[str, Any]] = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if url.count("(") > url.count(")") and match.group()[len(url) :].startswith(")"):
            url += ")"  # keep a Wikipedia-style closing parenthesis that belongs to the URL
        start = len(text[: match.start()].encode())
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    return facets


class BlueskyProvider:
    platform: ClassVar[Platform] = Platform.BLUESKY
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=300,
        max_media=4,
        prepares=True,
        text_length=grapheme_length,
        unit="graphemes",
        # PLATFORMS.md §7: each image blob at most 2,000,000 bytes. Video is documented there,
        # but this provider embeds images only, so a video is refused here.
        media=MediaRules(max_image_bytes=2_000_000, video_allowed=False),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        blobs = [await self._upload_blob(account, url) for url in content.media_urls]
        # Fixed before the first createRecord: see the module docstring.
        return Preparation(ids={"blobs": blobs, "rkey": new_tid()})

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
        return READY  # a blob is usable as soon as uploadBlob answers

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        prepared = prepared or Preparation()
        blobs = prepared.ids.get("blobs")
        if content.media_urls and not blobs:
            blobs = (await self.prepare(account, content)).ids["blobs"]
        created_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record: dict[str, Any] = {"$type": POST, "text": content.text, "createdAt": created_at}
        if facets := link_facets(content.text):
            record["facets"] = facets
        if langs := content.options.get("langs"):
            record["langs"] = list(langs)
        if blobs:
            alts = list(content.options.get("alt_texts") or [])
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {"image": blob, "alt": alts[i] if i < len(alts) else ""}
                    for i, blob in enumerate(blobs)
                ],
            }
        elif content.link:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": content.link, "title": content.title or "", "description": ""},
            }
        body: dict[str, Any] = {"repo": account.external_id, "collection": POST, "record": record}
        rkey = record_key(content, prepared)
        if rkey:
            body["rkey"] = rkey
        try:
            created = await self._call(account, "POST", "com.atproto.repo.createRecord", json=body)
        except ContentError as error:
            # Our own key already holds this post: an earlier try whose answer was lost made
            # it, so it is that try's post, not a duplicate. A key the caller chose may name an
            # older post of theirs, which stays a refusal, as does a different record.
            if not (
                rkey
                and "rkey" not in content.options
                and "exist" in f"{error.code} {error.message}".lower()
            ):
                raise
            existing = await self._get_record(account, rkey)
            if existing is None or not record_matches(existing["value"], content, blobs):
                raise
            created = existing
        uri = str(created["uri"])
        return Published(external_id=uri, url=post_url(uri))

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        blobs = prepared.ids.get("blobs")
        rkey = record_key(content, prepared)
        found = await self._get_record(account, rkey) if rkey else None
        if found is not None and record_matches(found["value"], content, blobs):
            uri = str(found["uri"])
            return Published(external_id=uri, url=post_url(uri))
        # Not at our key: the attempt may have written under another (see the module).
        return await self._find_listed(account, content, blobs, since=since)

    async def _find_listed(
        self,
        account: AccountCredentials,
        content: PostContent,
        blobs: list[dict[str, Any]] | None,
        *,
        since: datetime,
    ) -> Published | None:
        """The account's newest post records (listRecords answers newest key first), matched
        on text, embed and a createdAt no earlier than `since`."""
        params: dict[str, Any] = {
            "repo": account.external_id,
            "collection": POST,
            "limit": LOOKUP_PAGE_SIZE,
        }
        for _ in range(MAX_LOOKUP_PAGES):
            page = await self._call(account, "GET", "com.atproto.repo.listRecords", params=params)
            records: list[dict[str, Any]] = page.get("records") or []
            for listed in records:
                value = listed.get("value") or {}
                created = parse_time(value.get("createdAt"))
                if created and created >= since and record_matches(value, content, blobs):
                    uri = str(listed["uri"])
                    return Published(external_id=uri, url=post_url(uri))
            if not records or not page.get("cursor") or _older(records[-1], since):
                return None
            params["cursor"] = page["cursor"]
        raise NotCheckable(
            f"the account made over {MAX_LOOKUP_PAGES * LOOKUP_PAGE_SIZE} posts since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back"
        )

    async def _get_record(self, account: AccountCredentials, rkey: str) -> dict[str, Any] | None:
        params = {"repo": account.external_id, "collection": POST, "rkey": rkey}
        try:
            return await self._call(account, "GET", "com.atproto.repo.getRecord", params=params)
        except ContentError as error:
            if error.code == "RecordNotFound":
                return None
            raise

    async def _upload_blob(self, account: AccountCredentials, url: str) -> dict[str, Any]:
        try:
            image = await self._http.get(url, follow_redirects=True)
        except httpx.TransportError as exc:
            raise TransientError(
                f"could not download {url}: {type(exc).__name__}", platform="bluesky"
            ) from exc
        if not image.is_success:
            kind = TransientError if image.status_code >= 500 else ContentError
            raise kind(f"could not download {url}: HTTP {image.status_code}", platform="bluesky")
        if len(image.content) > MAX_BLOB_BYTES:
            raise ContentError(f"{url} is over {MAX_BLOB_BYTES} bytes", platform="bluesky")
        mime = image.headers.get("content-type", "image/jpeg").split(";")[0].strip()
        uploaded = await self._call(
            account,
            "POST",
            "com.atproto.repo.uploadBlob",
            content=image.content,
            headers={"Content-Type": mime},
        )
        blob: dict[str, Any] = uploaded["blob"]
        return blob

    async def _call(
        self, account: AccountCredentials, method: str, nsid: str, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {account.access_token}"}
        response = await answered(
            "bluesky",
            self._http.request(method, f"{self._base}/xrpc/{nsid}", headers=headers, **kwargs),
        )
        if response.is_success:
            data: dict[str, Any] = response.json()
            return data
        raise xrpc_error(response)


def new_tid() -> str:
    """A timestamp identifier: microseconds since the epoch, then a random 10-bit clock id."""
    value = time.time_ns() // 1_000 << 10 | secrets.randbelow(1024)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def tid_time(rkey: str) -> datetime | None:
    """When a TID record key was minted; None for a key that is not a TID."""
    if len(rkey) != 13 or any(char not in TID_ALPHABET for char in rkey):
        return None
    value = 0
    for char in rkey:
        value = value << 5 | TID_ALPHABET.index(char)
    return datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)


def record_key(content: PostContent, prepared: Preparation) -> str | None:
    """The key the post is written under: the caller's, else the one `prepare` fixed."""
    chosen = content.options.get("rkey") or prepared.ids.get("rkey")
    return str(chosen) if chosen else None


def parse_time(raw: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def record_matches(
    value: dict[str, Any], content: PostContent, blobs: list[dict[str, Any]] | None
) -> bool:
    """Is this post record the one `publish` writes for `content`: its text, and its embed
    (the same blobs, which are content-addressed, or the same link card)?"""
    if value.get("text") != content.text:
        return False
    embed = value.get("embed") or {}
    if content.media_urls:
        images = embed.get("images") or []
        if embed.get("$type") != "app.bsky.embed.images" or len(images) != len(content.media_urls):
            return False
        if blobs:
            sent = [blob["ref"]["$link"] for blob in blobs]
            return [((i.get("image") or {}).get("ref") or {}).get("$link") for i in images] == sent
        return True
    if content.link:
        external = embed.get("external") or {}
        return (
            embed.get("$type") == "app.bsky.embed.external" and external.get("uri") == content.link
        )
    return not embed


def _older(listed: dict[str, Any], since: datetime) -> bool:
    """Is this record, and so every one listed after it, too old to be the attempt's?"""
    rkey = str(listed.get("uri", "")).rsplit("/", 1)[-1]
    minted = tid_time(rkey) or parse_time((listed.get("value") or {}).get("createdAt"))
    return minted is not None and minted < since - KEY_AGE_LIMIT


def post_url(uri: str) -> str:
    """at://{did}/app.bsky.feed.post/{rkey} → its bsky.app page (the DID stands in for a handle)."""
    did, _, rkey = uri.removeprefix("at://").partition(f"/{POST}/")
    return f"https://bsky.app/profile/{did}/post/{rkey}"


def xrpc_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        body = response.json()
        name = str(body.get("error") or "") or None
        message = str(body.get("message") or name or f"HTTP {status}")
    except (ValueError, AttributeError):
        # Not XRPC's shape (a proxy's page, an empty 503): the HTTP status is all there is.
        name, message = None, f"HTTP {status}"
    common: dict[str, Any] = {"platform": "bluesky", "code": name, "http_status": status}
    if status == 429 or name in RATE_LIMIT_ERRORS:
        return RateLimitedError(message, retry_after=_until_reset(response), **common)
    if status >= 500:
        return TransientError(message, **common)
    # 403 too: the token works but may not do this (an app password without the scope).
    if status in (401, 403) or name in AUTH_ERRORS:
        return AuthError(message, **common)
    return ContentError(message, **common)


def _until_reset(response: httpx.Response) -> timedelta | None:
    """`ratelimit-reset` is the epoch second the window refills; fall back to Retry-After."""
    raw = response.headers.get("ratelimit-reset", "")
    if raw.strip().isdigit():
        return max(datetime.fromtimestamp(int(raw), UTC) - datetime.now(UTC), timedelta(0))
    return retry_after(response.headers)
