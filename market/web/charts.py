"""Charts for the pages: plain data in, an inline SVG string out, drawn by pygal on the server.

The pages carry no JavaScript, so the values are printed on the chart itself (there are no
hover tooltips) and every page shows the same numbers in a table beside the chart, for screen
readers and for copying.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pygal
from pygal.style import Style

Series = Sequence[tuple[str, float]]

# pygal always embeds a small inline <script> with its tooltip configuration; without its
# external JavaScript (js=[]) it does nothing, so it is dropped to keep the pages script-free.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    colors=("#1d5fa8", "#c2410c", "#15803d", "#a16207", "#7c3aed", "#0e7490", "#be123c"),
    font_family="system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif",
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    legend_font_size=12,
)

_COMMON = {
    "style": STYLE,
    "disable_xml_declaration": True,
    "js": [],
    "tooltip_border_radius": 0,
    "print_values": True,
    "width": 640,
    "height": 320,
}


def _svg(chart: pygal.graph.graph.Graph) -> str:
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def _whole_number_axis(data: Series) -> list[int]:
    """Counts are whole numbers: ticks at 0, 1, 2 ... (or a wider step), never 0.1."""
    top = max((int(math.ceil(value)) for _, value in data), default=0)
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + step, step))


def bar(title: str, data: Series) -> str:
    """Vertical bars, one per label, in the order given."""
    chart = pygal.Bar(show_legend=False, x_label_rotation=20 if len(data) > 5 else 0, **_COMMON)
    chart.title = title
    chart.x_labels = [label for label, _ in data]
    chart.y_labels = _whole_number_axis(data)
    chart.add(title, [value for _, value in data])
    return _svg(chart)


def horizontal_bar(title: str, data: Series) -> str:
    """Horizontal bars, for long labels (capabilities, regions)."""
    height = max(240, 40 + 28 * len(data))
    chart = pygal.HorizontalBar(show_legend=False, **{**_COMMON, "height": height})
    chart.title = title
    chart.x_labels = [label for label, _ in data]
    chart.y_labels = _whole_number_axis(data)
    chart.add(title, [value for _, value in data])
    return _svg(chart)


def pie(title: str, data: Series) -> str:
    """Shares of a whole; each slice's value is printed on it and named in the legend."""
    chart = pygal.Pie(show_legend=True, legend_at_bottom=True, inner_radius=0.45, **_COMMON)
    chart.title = title
    for label, value in data:
        chart.add(label, value)
    return _svg(chart)
