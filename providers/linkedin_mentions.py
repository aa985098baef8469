"""Mentions of organizations and people in a LinkedIn post's commentary (docs/platforms.md §4).

A target names them in its options, `"mentions": [{"name": "Acme Corp", "urn":
"urn:li:organization:1234"}]`, and its text says `@Acme Corp`: each such `@name` goes to
LinkedIn as little text's mention element `@[Acme Corp](urn:li:organization:1234)`, which
LinkedIn shows as the name linking to the page or profile. The text itself stays plain, so the
same body reads well on the post's other platforms. A mention written in little text in the
text passes through as it is.

Everything a mention needs is checked when the post is created (`mention_problems`), so a
mention never silently turns into plain text at publish time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Organization ids are numbers; a member's id is LinkedIn's opaque one (letters, digits, - _).
URN = re.compile(r"urn:li:organization:\d+|urn:li:person:[A-Za-z0-9_-]+")
# A mention written in little text, as LinkedIn reads it.
MENTION = re.compile(r"@\[[^\]\n]+\]\(urn:li:(?:person|organization):[^)\s]+\)")
# What looks like one, to name a URN LinkedIn would not read as a mention.
MENTION_LIKE = re.compile(r"@\[[^\]\n]+\]\((urn:li:[^)\s]*)\)")
# These would end the element's name early, so a name carrying one cannot be mentioned.
NAME_BREAKERS = re.compile(r"[\[\]()\\\r\n]")
MAX_NAME_CHARS = 200
URN_FORMS = "urn:li:organization:<number> or urn:li:person:<id>"
Where = tuple[str | int, ...]


@dataclass(frozen=True)
class Mention:
    name: str
    urn: str


def mentions_in(options: Mapping[str, Any]) -> list[Mention]:
    """The mentions `options` names, read as `mention_problems` let them through."""
    found = options.get("mentions")
    if not isinstance(found, list):
        return []
    return [
        Mention(str(item["name"]), str(item["urn"]))
        for item in found
        if isinstance(item, dict) and "name" in item and "urn" in item
    ]


def elements(text: str, mentions: Sequence[Mention]) -> Iterator[tuple[int, int, str, str | None]]:
    """Each mention in `text`: where it starts and ends, the little text element it is, and
    the name of `mentions` it says (None for one written in little text). A longer name wins
    over a shorter one it begins with (`@Acme Corp` over `@Acme`), and a name must end where
    a word does (`@Acme` is not in `@Acmeville`)."""
    by_name = {mention.name: mention.urn for mention in mentions}
    names = sorted(by_name, key=len, reverse=True)
    named = "|".join(re.escape(name) for name in names)
    pattern = re.compile(rf"({MENTION.pattern})" + (rf"|@({named})(?!\w)" if names else ""))
    for found in pattern.finditer(text):
        if found.group(1) is not None:
            yield found.start(), found.end(), found.group(1), None
        else:
            name = found.group(2)
            yield found.start(), found.end(), f"@[{name}]({by_name[name]})", name


def mention_problems(text: str, options: Mapping[str, Any]) -> list[tuple[Where, str]]:
    """Every problem with a LinkedIn target's mentions, each as (where, what), `where` being
    ("text",) or a path in the options: the shape of `options.mentions`, a URN that names no
    organization or person, a name the text does not say as `@name`, and a mention written in
    the text whose URN LinkedIn would not take."""
    problems: list[tuple[Where, str]] = []
    for found in MENTION_LIKE.finditer(text):
        if not URN.fullmatch(found.group(1)):
            what = f"{found.group()} names {found.group(1)!r}, not {URN_FORMS}"
            problems.append((("text",), what))
    given = options.get("mentions")
    if given is None:
        return problems
    if not isinstance(given, list):
        return [*problems, (("mentions",), 'must be a list of {"name", "urn"} objects')]
    usable: dict[int, Mention] = {}
    for index, item in enumerate(given):
        where: Where = ("mentions", index)
        if not isinstance(item, dict) or set(item) != {"name", "urn"}:
            problems.append((where, 'must be an object with exactly "name" and "urn"'))
            continue
        name, urn = item["name"], item["urn"]
        if not isinstance(urn, str) or not URN.fullmatch(urn):
            problems.append(((*where, "urn"), f"{urn!r} is not {URN_FORMS}"))
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            problems.append(((*where, "name"), f"must be 1 to {MAX_NAME_CHARS} characters"))
        elif NAME_BREAKERS.search(name):
            problems.append(((*where, "name"), f"{name!r} has a bracket, backslash or line break"))
        elif any(earlier.name == name for earlier in usable.values()):
            problems.append(((*where, "name"), f"{name!r} is named twice"))
        else:
            usable[index] = Mention(name, str(urn))
    # Looked for all together, as publish does: a longer name may take a shorter one's place.
    said = {found[3] for found in elements(text, list(usable.values()))}
    for index, mention in usable.items():
        if mention.name not in said:
            problems.append((("mentions", index), f"the text has no @{mention.name} to mention"))
    return problems
