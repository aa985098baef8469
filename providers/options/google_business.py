"""Google Business Profile's options: a LocalPost's topic, call to action, event and offer
(docs/platforms.md §6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType, http_url, language_tag

Url = Annotated[str, AfterValidator(http_url)]
# The nested shapes use Google's own (camelCase) field names: they are sent as they are.


def _upper(value: Any) -> Any:
    # The provider sends the topic upper-cased, so "event" has always meant EVENT.
    return value.upper() if isinstance(value, str) else value


@with_config(STRICT)
class Date(TypedDict):
    year: Annotated[int, Field(ge=1, le=9999)]
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]


@with_config(STRICT)
class TimeOfDay(TypedDict, total=False):
    hours: Annotated[int, Field(ge=0, le=23)]
    minutes: Annotated[int, Field(ge=0, le=59)]
    seconds: Annotated[int, Field(ge=0, le=59)]
    nanos: Annotated[int, Field(ge=0, le=999_999_999)]


@with_config(STRICT)
class Schedule(TypedDict, total=False):
    startDate: Date
    startTime: TimeOfDay
    endDate: Date
    endTime: TimeOfDay


@with_config(STRICT)
class Event(TypedDict, total=False):
    title: Annotated[str, Field(min_length=1, description="Defaults to the `title` option.")]
    schedule: Schedule


@with_config(STRICT)
class CallToAction(TypedDict, total=False):
    actionType: Literal["BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"]
    url: Annotated[Url, Field(description="Required except for CALL, which takes none.")]


@with_config(STRICT)
class Offer(TypedDict, total=False):
    couponCode: str
    redeemOnlineUrl: Url
    termsConditions: str


TopicType = Literal["STANDARD", "EVENT", "OFFER"]


@with_config(STRICT)
class GoogleBusinessOptions(TypedDict, total=False):
    """A local post's choices, in the v4 LocalPost's own shapes."""

    topic_type: Annotated[
        TopicType, BeforeValidator(_upper), Field(description="STANDARD when left out.")
    ]
    language_code: Annotated[
        str, AfterValidator(language_tag), Field(description='"en" when left out.')
    ]
    call_to_action: Annotated[
        CallToAction,
        Field(description="The button; left out, a post `link` becomes LEARN_MORE to it."),
    ]
    event: Annotated[Event, Field(description="Required for EVENT and OFFER posts.")]
    offer: Annotated[Offer, Field(description="OFFER posts only.")]
    title: Annotated[str, Field(min_length=1, description="The event's title.")]


def rule_problems(options: GoogleBusinessOptions) -> list[tuple[tuple[str, ...], str]]:
    """What the types cannot say: which fields go with which topic (docs/platforms.md §6)."""
    problems: list[tuple[tuple[str, ...], str]] = []
    topic = options.get("topic_type", "STANDARD")
    event = options.get("event")
    if topic == "STANDARD" and event is not None:
        problems.append((("event",), "only EVENT and OFFER posts take an event"))
    if topic != "STANDARD":
        schedule = (event or {}).get("schedule") or {}
        for end in ("startDate", "endDate"):
            if end not in schedule:
                problems.append(
                    (("event", "schedule", end), f"{topic} posts need a complete schedule")
                )
        if not (event or {}).get("title") and not options.get("title"):
            problems.append((("event", "title"), f"{topic} posts need event.title or title"))
    if "offer" in options and topic != "OFFER":
        problems.append((("offer",), "only OFFER posts take an offer"))
    cta = options.get("call_to_action")
    if cta is not None:
        if topic == "OFFER":
            problems.append((("call_to_action",), "Google ignores a call to action on offers"))
        if "actionType" not in cta:
            problems.append((("call_to_action", "actionType"), "Field required"))
        elif cta["actionType"] == "CALL" and "url" in cta:
            problems.append((("call_to_action", "url"), "CALL takes no url"))
        elif cta["actionType"] != "CALL" and "url" not in cta:
            problems.append((("call_to_action", "url"), f"{cta['actionType']} needs a url"))
    return problems


POST_TYPES = (
    PostType("STANDARD", "`topic_type` STANDARD (the default): text, one photo, a button"),
    PostType("EVENT", "`topic_type` EVENT: an event with a title and a start and end date"),
    PostType("OFFER", "`topic_type` OFFER: an event's dates and an optional coupon and terms"),
)
