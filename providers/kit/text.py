"""How the platforms count a post's text against their limits (PlatformRules.text_length).

Each counter names the platform that counts this way; a provider picks its one in its rules.
"""

from __future__ import annotations

import re
import unicodedata

# X: twitter-text config v3 (github.com/twitter/twitter-text, config/v3.json), the counting X
# applies: every code point weighs 2 except these ranges, which weigh 1; a URL weighs 23
# whatever its length; an emoji sequence (skin tone, ZWJ family, flag) weighs 2 as a whole.
URL_WEIGHT = 23
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)
ZWJ = "\u200d"
# Trailing punctuation ends a URL, as twitter-text's extractor has it.
URL = re.compile(r"https?://\S*[^\s.,;:!?'\")\]}]", re.IGNORECASE)


def utf8_length(text: str) -> int:
    """Bytes in UTF-8 (YouTube's description)."""
    return len(text.encode())


def utf16_length(text: str) -> int:
    """UTF-16 code units (TikTok's title): an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def weighted_length(text: str) -> int:
    """The length X counts against its 280 limit (weighted characters)."""
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


# Bluesky: no grapheme library is installed, so this follows UAX #29's extended grapheme rules
# closely enough for what people post: combining marks, ZWJ emoji sequences, skin tones, flags,
# Hangul. It omits Prepend and Indic conjunct (GB9c) rules, where it may count one cluster too many.


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


# Threads: "Emojis are counted as the number of UTF-8 bytes" (developers.facebook.com/docs/
# threads/posts, Limitations); every other character counts 1. An emoji here is a whole
# sequence: a pictograph with its presentation selector, skin tone, tags and ZWJ-joined
# pictographs, a flag (two regional indicators) or a keycap. Symbols that default to text
# presentation (©, ®, ™, ‼ ...) are emoji only when U+FE0F asks for it.
_PICTOGRAPH = "\U0001f000-\U0001faff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff"
_TEXT_DEFAULT = "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u24c2\u3030\u303d"
_CONTINUES = "\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"
_EMOJI = re.compile(
    "[0-9#*]\ufe0f?\u20e3"  # keycap
    "|[\U0001f1e6-\U0001f1ff]{2}"  # flag
    f"|(?:[{_PICTOGRAPH}]|[{_TEXT_DEFAULT}]\ufe0f)[{_CONTINUES}]*"
    f"(?:\u200d(?:[{_PICTOGRAPH}]|[{_TEXT_DEFAULT}]\ufe0f)[{_CONTINUES}]*)*"
)


def threads_length(text: str) -> int:
    """The length Threads counts against its 500 limit."""
    extra = sum(len(m.group().encode()) - len(m.group()) for m in _EMOJI.finditer(text))
    return len(text) + extra
