"""Small charts as inline SVG markup, drawn on the server (the pages' CSP forbids scripts).

Pure functions: numbers in, a `Markup` string out. Only numbers reach the SVG's geometry (each
value passes through `int`), and every label is escaped, so a metric's or a day's name cannot
inject markup. Each chart is `role="img"` with an `aria-label` (and a `<title>`) that states
its numbers; the pages also list them in a table (templates/_charts.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

INK = "#1d232b"
MUTED = "#5b6672"
LINE = "#d8dde3"
ACCENT = "#1a56db"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'

# A bar chart of a post's few readings: one bar per reading slot (1 h, 24 h, 7 d).
BAR_WIDTH, BAR_HEIGHT = 240, 130
BAR_TOP, BAR_BOTTOM = 18, 22  # room for the value above a bar, and the slot's label below
# A day-by-day line: room on the left for the min/max labels, below for the first/last day.
LINE_WIDTH, LINE_HEIGHT = 320, 130
LINE_LEFT, LINE_RIGHT, LINE_TOP, LINE_BOTTOM = 48, 8, 10, 22


def number(value: int) -> str:
    """A count as people read it: 12,345."""
    return f"{int(value):,}"


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    said = escape(label)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{said}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" class="chart-svg">'
        f"<title>{said}</title>{''.join(body)}</svg>"
    )


def bar_chart(title: str, slots: Sequence[tuple[str, int | str]]) -> Markup:
    """A bar per slot (a reading's offset, "1 h"), its value above it; a slot given words
    instead of a count ("not yet") has no bar and shows the words."""
    values = [int(v) for _, v in slots if not isinstance(v, str)]
    top = max([*values, 1])
    inner = BAR_HEIGHT - BAR_TOP - BAR_BOTTOM
    step = BAR_WIDTH / max(len(slots), 1)
    base = BAR_HEIGHT - BAR_BOTTOM
    body = [
        f'<line x1="0" y1="{base}" x2="{BAR_WIDTH}" y2="{base}" stroke="{LINE}" stroke-width="1"/>'
    ]
    said = []
    for index, (name, value) in enumerate(slots):
        centre = step * index + step / 2
        body.append(
            f'<text x="{centre:.1f}" y="{BAR_HEIGHT - 6}" text-anchor="middle" fill="{MUTED}" '
            f"{FONT}>{escape(name)}</text>"
        )
        if isinstance(value, str):
            body.append(
                f'<text x="{centre:.1f}" y="{base - 4}" text-anchor="middle" fill="{MUTED}" '
                f"{FONT}>{escape(value)}</text>"
            )
            said.append(f"{name} {value}")
            continue
        amount = int(value)
        height = max(inner * max(amount, 0) / top, 1.0)  # a zero still shows as a sliver
        width = step * 0.55
        body.append(
            f'<rect x="{centre - width / 2:.1f}" y="{base - height:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}" fill="{ACCENT}" rx="2"/>'
        )
        body.append(
            f'<text x="{centre:.1f}" y="{base - height - 4:.1f}" text-anchor="middle" '
            f'fill="{INK}" {FONT}>{number(amount)}</text>'
        )
        said.append(f"{name} {number(amount)}")
    return _svg(BAR_WIDTH, BAR_HEIGHT, f"{title}: {', '.join(said)}", body)


def line_chart(title: str, points: Sequence[tuple[date, int]], first: date, last: date) -> Markup:
    """A day-by-day line from `first` to `last`, a day without a value left as a gap; its
    lowest and highest values labelled on the left, its first and last day below."""
    span = max((last - first).days, 1)
    shown = sorted((day, int(value)) for day, value in points if first <= day <= last)
    inner_w = LINE_WIDTH - LINE_LEFT - LINE_RIGHT
    inner_h = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM
    base = LINE_HEIGHT - LINE_BOTTOM
    body = [
        f'<line x1="{LINE_LEFT}" y1="{base}" x2="{LINE_WIDTH - LINE_RIGHT}" y2="{base}" '
        f'stroke="{LINE}" stroke-width="1"/>',
        f'<line x1="{LINE_LEFT}" y1="{LINE_TOP}" x2="{LINE_LEFT}" y2="{base}" '
        f'stroke="{LINE}" stroke-width="1"/>',
        f'<text x="{LINE_LEFT}" y="{LINE_HEIGHT - 6}" text-anchor="start" fill="{MUTED}" '
        f"{FONT}>{escape(first.isoformat())}</text>",
        f'<text x="{LINE_WIDTH - LINE_RIGHT}" y="{LINE_HEIGHT - 6}" text-anchor="end" '
        f'fill="{MUTED}" {FONT}>{escape(last.isoformat())}</text>',
    ]
    window = f"{title}, {first.isoformat()} to {last.isoformat()}"
    if not shown:
        body.append(
            f'<text x="{LINE_LEFT + inner_w / 2:.1f}" y="{LINE_TOP + inner_h / 2:.1f}" '
            f'text-anchor="middle" fill="{MUTED}" {FONT}>no readings</text>'
        )
        return _svg(LINE_WIDTH, LINE_HEIGHT, f"{window}: no readings", body)
    values = [v for _, v in shown]
    low, high = min(values), max(values)

    def x(day: date) -> float:
        return LINE_LEFT + inner_w * (day - first).days / span

    def y(value: int) -> float:
        if high == low:  # a flat series sits mid-height rather than on an axis
            return LINE_TOP + inner_h / 2
        return LINE_TOP + inner_h * (high - value) / (high - low)

    path, previous = [], None
    for day, value in shown:
        # A missing day breaks the line: no reading is not a reading of zero.
        move = previous is None or (day - previous).days > 1
        path.append(f"{'M' if move else 'L'}{x(day):.1f} {y(value):.1f}")
        previous = day
    body.append(
        f'<path d="{" ".join(path)}" fill="none" stroke="{ACCENT}" stroke-width="2" '
        'stroke-linejoin="round" stroke-linecap="round"/>'
    )
    body.extend(
        f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="2.2" fill="{ACCENT}"/>'
        for day, value in shown
    )
    body.append(
        f'<text x="{LINE_LEFT - 4}" y="{LINE_TOP + 8}" text-anchor="end" fill="{MUTED}" '
        f"{FONT}>{number(high)}</text>"
    )
    body.append(
        f'<text x="{LINE_LEFT - 4}" y="{base}" text-anchor="end" fill="{MUTED}" '
        f"{FONT}>{number(low)}</text>"
    )
    (first_day, first_value), (last_day, last_value) = shown[0], shown[-1]
    said = (
        f"{window}: {len(shown)} day{'' if len(shown) == 1 else 's'} read, "
        f"{number(first_value)} on {first_day.isoformat()}, "
        f"{number(last_value)} on {last_day.isoformat()}; "
        f"lowest {number(low)}, highest {number(high)}"
    )
    return _svg(LINE_WIDTH, LINE_HEIGHT, said, body)
