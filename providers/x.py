"""X through API v2 (PLATFORMS.md §5).

Posts as the user with their OAuth 2.0 user token. Media goes up through the v2 chunked upload
(initialize, append, finalize) in `prepare`; video and GIFs are then processed by X, which
`check` polls, so the tweet is posted only once every attachment is usable.

After a publish whose answer was lost, `find_published` reads the user's timeline
(`GET /2/users/{id}/tweets` from the attempt's start) for the tweet with the text `publish`
sends and the media it attached. X gives text back altered: `&`, `<` and `>` as HTML
entities, every link wrapped as a t.co link (a bare domain too), and a t.co link to the media
appended. So the text is compared with each t.co link standing for any one link or domain
written there, and the trailing media link dropped; the media keys then tell tweets apart.
An app whose X access level may not read timelines gets a 403: NotCheckable.

X refuses a repeated text with a 403 "duplicate content" that names no tweet. `publish` takes
the earlier tweet as its own only when it carries the media this target uploaded in
`prepare` (ids no other tweet can hold); a text-only duplicate stays a ContentError, since
nothing tells a retry from a genuine repeat, and `find_published` already looked.
"""

from __future__ import annotations

import mimetypes
import re
import time
import unicodedata
from collections.abc import AsyncIterator
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
    PublishBudget,
    Published,
    Readiness,
)
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    from_http_status,
)
from providers.http import answered

# X answers 403 both for a missing permission and for a refused tweet; only the detail tells
# them apart. Its other 403s ("Unsupported Authentication", client-forbidden, "You are not
# permitted to perform this action") mean the token cannot do this: AuthError.
DUPLICATE_DETAIL = "duplicate content"
CONTENT_403_DETAILS = (DUPLICATE_DETAIL,)
# Each family's `-remaining` and `-reset` (epoch seconds); X sends no Retry-After.
RATE_LIMIT_HEADERS = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
CHUNK_BYTES = 1024 * 1024  # Postiz appends 1 MB segments
# The handle is not in AccountCredentials (only the numeric user id); /i/ stands in for it.
PUBLIC_URL = "https://x.com/{user}/status/{id}"
MEDIA_TTL = timedelta(days=1)  # an uploaded media id expires after expires_after_secs, 86,400

# Reconciliation: GET /2/users/{id}/tweets takes max_results 5 to 100; the pages read before
# giving up. start_time keeps the walk to tweets made since the attempt.
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 5
TCO_LINK = re.compile(r"https://t\.co/\w+")
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # &amp; last: "&amp;lt;" is "&lt;"

# twitter-text config v3 (github.com/twitter/twitter-text, config/v3.json), the counting X
# applies: every code point weighs 2 except these ranges, which weigh 1; a URL weighs 23
# whatever its length; an emoji sequence (skin tone, ZWJ family, flag) weighs 2 as a whole.
MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)
ZWJ = "\u200d"
# Trailing punctuation ends a URL, as twitter-text's extractor has it.
URL = re.compile(r"https?://\S*[^\s.,;:!?'\")\]}]", re.IGNORECASE)


def weighted_length(text: str) -> int:
    """The length X counts against its 280 limit."""
    text = unicodedata.normalize("NFC", text)  # twitter-text counts the NFC form
    total, position = 0, 0
    for match in URL.finditer(text):
        total += _weigh(text[position : match.start()]) + URL_WEIGHT
        position = match.end()
    return total + _weigh(text[position:])


def _weigh(text: str) -> int:
    total, index = 0, 0
    while index < len(text):
        code = ord(text[index])
        light = any(start <= code <= end for start, end in LIGHT_RANGES)
        end = index + 1
        if REGIONAL_INDICATORS[0] <= code <= REGIONAL_INDICATORS[1] and end < len(text):
            end += REGIONAL_INDICATORS[0] <= ord(text[end]) <= REGIONAL_INDICATORS[1]
        while end < len(text):
            if EMOJI_MODIFIERS.match(text[end]):
                end += 1
            elif text[end] == ZWJ and end + 1 < len(text) and (not light or end > index + 1):
                end += 2
            else:
                break
        total += 1 if light and end == index + 1 else 2
        index = end
    return total


def tweet_text(content: PostContent) -> str:
    """The text `publish` sends: v2 tweets have no link field, so a link rides in the text,
    where X cards it."""
    if content.link and content.link not in content.text:
        return f"{content.text}\n\n{content.link}"
    return content.text


def same_text(sent: str, returned: str, *, has_media: bool) -> bool:
    """Whether X's form of a tweet's text (`returned`) is the `sent` text: entities undone,
    each t.co link standing for any link written there, the appended media link dropped."""
    for entity, char in ENTITIES:
        returned = returned.replace(entity, char)
    returned = unicodedata.normalize("NFC", returned).strip()
    if has_media:
        returned = re.sub(r"\s*https://t\.co/\w+$", "", returned)
    pieces = [re.escape(piece) for piece in TCO_LINK.split(returned)]
    pattern = r"\S+".join(pieces)
    return re.fullmatch(pattern, unicodedata.normalize("NFC", sent).strip()) is not None


def media_ids_of(tweet: dict[str, Any]) -> list[str]:
    """The media ids a tweet carries: a media key is `{type}_{media id}`."""
    keys = (tweet.get("attachments") or {}).get("media_keys") or []
    return [str(key).split("_", 1)[-1] for key in keys]


def is_the_tweet(tweet: dict[str, Any], text: str, media_ids: list[str] | None) -> bool:
    """The tweet `publish` would make of `text` and `media_ids` (None: unknown, any media)."""
    carried = media_ids_of(tweet)
    if media_ids is not None and sorted(carried) != sorted(media_ids):
        return False
    return same_text(text, str(tweet.get("text") or ""), has_media=bool(carried))


def published(tweet_id: str) -> Published:
    return Published(external_id=tweet_id, url=PUBLIC_URL.format(user="i", id=tweet_id))


class XProvider:
    platform: ClassVar[Platform] = Platform.X
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=MAX_WEIGHTED_LENGTH,
        max_media=4,
        supports_drafts=False,
        prepares=True,
        text_length=weighted_length,
        unit="weighted characters",
        # POST /2/tweets: 200 per 15 min per user, and 300 per 3 h (PLATFORMS.md §5).
        budgets=(
            PublishBudget(limit=200, window=timedelta(minutes=15)),
            PublishBudget(limit=300, window=timedelta(hours=3)),
        ),
        # PLATFORMS.md §5: up to 4 images or 1 video/GIF; it states no size or format limits.
        media=MediaRules(video_alone=True),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Uploads each image; `processing` lists those X must still process before use."""
        media_ids: list[str] = []
        processing: list[str] = []
        for url in content.media_urls:
            media_id, pending = await self._upload(account, url)
            media_ids.append(media_id)
            if pending:
                processing.append(media_id)
        ids: dict[str, Any] = {"media_ids": media_ids}
        if processing:
            ids["processing"] = processing
        return Preparation(ids=ids)

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
        waits: list[int] = []
        for media_id in prepared.ids.get("processing", []):
            params = {"command": "STATUS", "media_id": media_id}
            answer = await self._call("GET", "/2/media/upload", account, params=params)
            info = answer.get("data", {}).get("processing_info") or {"state": "succeeded"}
            if info.get("state") == "failed":
                error = info.get("error") or {}
                return Readiness(state="failed", reason=str(error.get("message") or error))
            if info.get("state") != "succeeded":
                waits.append(int(info.get("check_after_secs", 0)))
        if not waits:
            return READY
        wait = max(waits)  # 0: X named no time, so the workflow's own poll interval applies
        return Readiness(state="pending", check_after=timedelta(seconds=wait) if wait else None)

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        body: dict[str, Any] = {"text": tweet_text(content)}
        media_ids = (prepared or Preparation()).ids.get("media_ids")
        if content.media_urls and not media_ids:
            media_ids = (await self.prepare(account, content)).ids["media_ids"]
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        try:
            created = await self._call("POST", "/2/tweets", account, json=body)
        except ContentError as refused:
            duplicate = DUPLICATE_DETAIL in refused.message
            if duplicate and (own := await self._own_duplicate(account, body["text"], media_ids)):
                return own
            raise
        return published(str(created["data"]["id"]))

    async def _own_duplicate(
        self, account: AccountCredentials, text: str, media_ids: list[str] | None
    ) -> Published | None:
        """The earlier tweet a duplicate refusal means, if it is this target's own attempt:
        it carries the media this target's `prepare` uploaded, which no other tweet can. An
        uploaded id lives a day, so no such tweet is older. A text-only tweet has no such
        key, so its duplicate stays a refusal."""
        if not media_ids:
            return None
        try:
            return await self._find(account, text, media_ids, since=datetime.now(UTC) - MEDIA_TTL)
        except NotCheckable:
            return None  # unprovable: the refusal stands
        # A transient failure of the lookup goes up: the attempt stays unknown, and the next
        # try looks for the tweet first.

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        """The user's tweet made since `since` with this text and media, if any."""
        media_ids = prepared.ids.get("media_ids")
        if media_ids is None and not content.media_urls:
            media_ids = []  # no media: a tweet carrying some is another
        return await self._find(account, tweet_text(content), media_ids, since=since)

    async def _find(
        self,
        account: AccountCredentials,
        text: str,
        media_ids: list[str] | None,
        *,
        since: datetime,
    ) -> Published | None:
        async for tweet in self._tweets_since(account, since):
            if is_the_tweet(tweet, text, media_ids):
                return published(str(tweet["id"]))
        return None

    async def _tweets_since(
        self, account: AccountCredentials, since: datetime
    ) -> AsyncIterator[dict[str, Any]]:
        """The user's tweets made at or after `since`, newest first, up to LOOKUP_MAX_PAGES."""
        params: dict[str, Any] = {
            "max_results": LOOKUP_PAGE_SIZE,
            # Whole seconds, rounded down, so the attempt's own second is in.
            "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tweet.fields": "created_at,text,attachments",
        }
        path = f"/2/users/{account.external_id}/tweets"
        for _ in range(LOOKUP_MAX_PAGES):
            try:
                page = await self._call("GET", path, account, params=params)
            except AuthError as exc:
                if exc.http_status != 403:
                    raise  # 401: the token is dead; a person reconnects, then it looks again
                raise NotCheckable(
                    f"X refused to read the user's tweets ({exc.message}); reading a "
                    "timeline needs an access level that includes it"
                ) from exc
            for tweet in page.get("data") or []:
                yield tweet
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return
            params["pagination_token"] = token
        raise NotCheckable(
            f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} tweets since {since.isoformat()}; "
            "the lookup stops there"
        )

    async def _upload(self, account: AccountCredentials, url: str) -> tuple[str, bool]:
        data, media_type = await self._download(url)
        if media_type == "image/gif":
            category = "tweet_gif"
        elif media_type.startswith("video/"):
            category = "tweet_video"
        else:
            category = "tweet_image"
        started = await self._call(
            "POST",
            "/2/media/upload/initialize",
            account,
            json={"media_type": media_type, "total_bytes": len(data), "media_category": category},
        )
        media_id = str(started["data"]["id"])
        for index, offset in enumerate(range(0, len(data), CHUNK_BYTES)):
            await self._call(
                "POST",
                f"/2/media/upload/{media_id}/append",
                account,
                data={"segment_index": str(index)},
                files={"media": ("media", data[offset : offset + CHUNK_BYTES], media_type)},
            )
        done = await self._call("POST", f"/2/media/upload/{media_id}/finalize", account)
        info = done.get("data", {}).get("processing_info")
        if info and info.get("state") == "failed":
            raise ContentError(f"media refused: {info.get('error')}", platform="x", code=media_id)
        return media_id, bool(info) and info.get("state") != "succeeded"

    async def _download(self, url: str) -> tuple[bytes, str]:
        # The image host is not X: its failures say nothing about the account or the token.
        try:
            response = await self._http.get(url, follow_redirects=True)
        except httpx.TransportError as exc:
            raise TransientError(
                f"media download failed: {type(exc).__name__}", platform="x"
            ) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"media download: HTTP {response.status_code}", platform="x")
        if not response.is_success or not response.content:
            raise ContentError(f"media {url} unusable: HTTP {response.status_code}", platform="x")
        declared = response.headers.get("content-type", "").split(";")[0].strip()
        media_type = declared or mimetypes.guess_type(url)[0] or "application/octet-stream"
        return response.content, media_type

    async def _call(
        self, method: str, path: str, account: AccountCredentials, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {account.access_token}"}
        response = await answered(
            "x", self._http.request(method, self._base + path, headers=headers, **kwargs)
        )
        if response.is_success:
            data: dict[str, Any] = response.json() if response.content else {}
            return data
        raise x_error(response)


def x_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    message, kind = _problem(response)
    common: dict[str, Any] = {"platform": "x", "code": kind, "http_status": status}
    if status == 429:
        # Read before the body: a bare 429 still carries the x-rate-limit headers.
        wait = rate_limit_reset(response.headers)
        return RateLimitedError(message or "rate limited", retry_after=wait, **common)
    if message is None:
        # Not X's shape (a proxy's page, an empty 503): the HTTP status is all there is.
        return from_http_status(status, response.headers, platform="x")
    if status >= 500:
        return TransientError(message, **common)
    if status == 403 and any(marker in message for marker in CONTENT_403_DETAILS):
        return ContentError(message, **common)
    if status in (401, 403):
        return AuthError(message, **common)
    return ContentError(message, **common)


def _problem(response: httpx.Response) -> tuple[str | None, str | None]:
    """The message and problem type of X's problem+JSON (or legacy `errors[]`) body."""
    try:
        problem = response.json()
        errors = problem.get("errors") or [{}]
        message = errors[0].get("message") or problem.get("detail") or problem["title"]
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None, None
    return str(message), kind if kind and kind != "about:blank" else None


def rate_limit_reset(headers: httpx.Headers, *, now: float | None = None) -> timedelta | None:
    """Until the latest reset among the exhausted limits (the 15-minute window or a daily cap)."""
    exhausted = [
        headers[f"{family}-reset"]
        for family in RATE_LIMIT_HEADERS
        if headers.get(f"{family}-remaining") == "0" and f"{family}-reset" in headers
    ]
    resets = [
        int(raw) for raw in exhausted or [headers.get("x-rate-limit-reset", "")] if raw.isdigit()
    ]
    if not resets:
        return None
    return timedelta(seconds=max(max(resets) - (time.time() if now is None else now), 0))
