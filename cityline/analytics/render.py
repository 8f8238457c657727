"""The briefing as HTML (a Jinja2 template shipped in the package) and as PDF.

The HTML is self-contained: styles inline, charts as inline SVG (``charts.py``),
so it can be mailed, archived in the ``briefings`` table and printed. The PDF is
the same HTML laid out by WeasyPrint, which embeds the fonts it uses; Chinese
needs a CJK font on the machine (Debian: ``fonts-noto-cjk``) and WeasyPrint
needs Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``).
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cityline.analytics import charts
from cityline.analytics.emerging import category_name

if TYPE_CHECKING:
    from cityline.analytics.brief import Briefing

LABELS = {
    "zh": {
        "title": "12345 热线快报", "received": "受理", "epidemic": "涉疫", "unit_orders": " 件",
        "vs_previous_day": "环比", "vs_last_year": "同比", "share": "占比", "volume": "受理量走势（近{days}天）",
        "orders_a_day": "每日受理", "epidemic_orders": "涉疫诉求", "categories": "一、诉求分类",
        "category": "分类", "count": "件数", "issues": "二、主要问题", "problem": "问题",
        "examples": "典型工单", "emerging": "三、苗头性、倾向性问题", "first_seen": "始于",
        "places": "集中区域", "score": "异常度", "no_emerging": "今日未发现新的苗头性问题。",
        "hotspots": "四、热点区域", "district": "区", "street": "街镇", "service": "五、办理情况",
        "dispatched": "派单", "on_time_rate": "按时办结率", "overdue": "超期未办结",
        "resolution_rate": "解决率", "satisfaction_rate": "满意率", "answered_directly": "直接答复",
        "units": "承办单位", "unit": "单位", "generated": "生成时间", "none": "—",
        "method": ("说明：主要问题由当日工单文本聚类得出（无预设问题目录）；苗头性问题按 EARS/ESSENCE 方法检测，"
                   "以近四周为基线，计入星期与总量变化，并以泊松检验控制误报。"),
        "unknown_place": "未知地点", "city_wide": "市级部门承办", "comma": "，", "semicolon": "；", "stop": "。",
        "colon": "：", "list": "、",
    },
    "en": {
        "title": "12345 hotline daily briefing", "received": "Received", "epidemic": "Epidemic-related",
        "unit_orders": "", "vs_previous_day": "vs previous day", "vs_last_year": "vs last year",
        "share": "share", "volume": "Orders a day (last {days} days)", "orders_a_day": "orders",
        "epidemic_orders": "epidemic-related", "categories": "1. Categories", "category": "Category",
        "count": "Orders", "issues": "2. Main problems", "problem": "Problem", "examples": "Examples",
        "emerging": "3. Emerging issues", "first_seen": "since", "places": "where", "score": "score",
        "no_emerging": "No emerging issue today.", "hotspots": "4. Hotspots", "district": "District",
        "street": "Street", "service": "5. Service", "dispatched": "Dispatched",
        "on_time_rate": "On time", "overdue": "Overdue", "resolution_rate": "Resolved",
        "satisfaction_rate": "Satisfied", "answered_directly": "Answered on the call",
        "units": "Units", "unit": "Unit", "generated": "Generated", "none": "—",
        "method": ("Main problems are clustered from the day's texts (no preset list); emerging issues "
                   "are detected with EARS/ESSENCE methods on a four-week baseline, adjusted for the "
                   "day of week and the day's volume, with a Poisson guard against false alarms."),
        "unknown_place": "place unknown", "city_wide": "city-level units", "comma": ", ", "semicolon": "; ", "stop": ".",
        "colon": ": ", "list": ", ",
    },
}


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("cityline.analytics", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters["percent"] = _percent
    env.filters["change"] = _change
    return env


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _change(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def briefing_html(briefing: Briefing, lang: str = "zh") -> str:
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LABELS)}")
    # The curve's length is brief.CURVE_DAYS: the heading counts the days drawn, never a copy of it.
    words = {**LABELS[lang], "volume": LABELS[lang]["volume"].format(days=len(briefing.curve))}
    issues = defaultdict(list)
    for issue in briefing.issues:
        issues[issue.category].append(issue)
    categories = briefing.categories
    places = _places(briefing, words)
    return _environment().get_template("briefing.html").render(
        b=briefing, t=words, lang=lang,
        name=lambda code: _name(code, lang),
        issues_by_category=[(code, issues[code]) for code in issues],
        volume_svg=charts.volume_curve(briefing.curve, (words["orders_a_day"], words["epidemic_orders"])),
        categories_svg=charts.bars([(_name(c["code"], lang), c["count"]) for c in categories[:12]]),
        places_svg=charts.bars(places, colour=charts.SECOND),
        generated=briefing.generated_at.astimezone(ZoneInfo(briefing.timezone)).strftime("%Y-%m-%d %H:%M"),
    )


def _places(briefing: Briefing, words: dict) -> list[tuple[str, int]]:
    """Orders per district for the chart; those without one split into city-wide matters (a
    city-level unit handled them) and the place unknown."""
    unplaced = {"city_wide": briefing.placement["city_wide"], "unknown_place": briefing.placement["unknown"]}
    places = [(name, n) for name, n in briefing.districts if name]
    places += [(words[key], n) for key, n in unplaced.items() if n]
    return sorted(places, key=lambda p: -p[1])[:16]


def _name(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    if lang == "zh":
        return category_name(code)
    from cityline.taxonomy import load_taxonomy

    try:
        return load_taxonomy().name(code, lang)
    except ValueError:
        return code


def briefing_pdf(briefing: Briefing, lang: str = "zh") -> bytes:
    return html_to_pdf(briefing_html(briefing, lang))


def html_to_pdf(html: str) -> bytes:
    """HTML laid out on A4 by WeasyPrint (see the module doc for what must be installed)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:  # OSError: Pango missing
        raise RuntimeError(
            "PDF output needs WeasyPrint and Pango (Debian: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0 fonts-noto-cjk): {error}") from error
    return HTML(string=html).write_pdf()
