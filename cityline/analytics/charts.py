"""The briefing's charts as inline SVG: plain markup that browsers and the PDF renderer
draw the same way, with no script and nothing fetched. Pure (values in, markup out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

FONT = "font-family=\"'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei',sans-serif\""
INK, GRID, MAIN, SECOND = "#333", "#ddd", "#1f6fb2", "#d9534f"


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def volume_curve(points: Sequence[tuple[date, int, int]], labels: tuple[str, str],
                 width: int = 680, height: int = 230) -> str:
    """Orders a day (line) and epidemic-related orders (shaded) over the last days."""
    if not points:
        return ""
    left, right, top, bottom = 48, 12, 16, 34
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = _nice_top(max(p[1] for p in points))
    step = inner_w / max(len(points) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + i * step, top + inner_h * (1 - value / peak)

    parts = [_svg_open(width, height)]
    for k in range(5):
        y = top + inner_h * k / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, f"{peak * (4 - k) / 4:,.0f}", anchor="end"))
    area = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, p[2]) for i, p in enumerate(points)))
    first_x, last_x = xy(0, 0)[0], xy(len(points) - 1, 0)[0]
    base = top + inner_h
    parts.append(f'<polygon points="{first_x:.1f},{base} {area} {last_x:.1f},{base}" '
                 f'fill="{SECOND}" fill-opacity="0.25" stroke="none"/>')
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, p[1]) for i, p in enumerate(points)))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{MAIN}" stroke-width="2"/>')
    every = max(1, len(points) // 6)
    for i, p in enumerate(points):
        last = i == len(points) - 1
        if (i % every == 0 and len(points) - 1 - i >= every / 2) or last:
            parts.append(_text(xy(i, 0)[0], base + 16, f"{p[0]:%m-%d}", anchor="end" if last else "middle"))
    parts.append(_legend(left, height - 4, [(MAIN, labels[0]), (SECOND, labels[1])]))
    parts.append("</svg>")
    return "".join(parts)


def bars(items: Sequence[tuple[str, int]], width: int = 680, bar: int = 18, colour: str = MAIN) -> str:
    """Horizontal bars, largest first as given, with the value at the end of each bar."""
    if not items:
        return ""
    label_width = min(max(_text_width(label) for label, _ in items) + 16, width // 2)
    gap, top = 6, 6
    height = top * 2 + len(items) * (bar + gap)
    inner = width - label_width - 60
    peak = max(value for _, value in items) or 1
    parts = [_svg_open(width, height)]
    for row, (label, value) in enumerate(items):
        y = top + row * (bar + gap)
        length = max(inner * value / peak, 1.0)
        parts.append(_text(label_width - 8, y + bar - 4, label, anchor="end"))
        parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" '
                     f'fill="{colour}" rx="2"/>')
        parts.append(_text(label_width + length + 6, y + bar - 4, f"{value:,}"))
    parts.append("</svg>")
    return "".join(parts)


def _text_width(text: str) -> float:
    """About how wide a label is at 12px: CJK characters are square, Latin ones about half."""
    return sum(12.0 if ord(ch) > 0x2E80 else 6.6 for ch in text)


def _svg_open(width: int, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" {FONT} font-size="12">')


def _text(x: float, y: float, content: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" fill="{INK}" text-anchor="{anchor}">{escape(content)}</text>'


def _legend(x: float, y: float, entries: Sequence[tuple[str, str]]) -> str:
    parts = []
    for colour, label in entries:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="10" fill="{colour}"/>')
        parts.append(_text(x + 16, y, label))
        x += 28 + 13 * len(label)
    return "".join(parts)
