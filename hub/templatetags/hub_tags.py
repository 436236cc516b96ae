"""Template helpers of the operator pages."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

register = template.Library()


@register.simple_tag
def sparkline(points, width=120, height=24):
    """An inline SVG of volume (line) and errors (red bars) over 24 hourly points."""
    if not points:
        return ""
    top = max(max(v for v, _ in points), 1)
    step = width / max(len(points) - 1, 1)
    line = " ".join(
        f"{i * step:.1f},{height - 1 - (v / top) * (height - 2):.1f}"
        for i, (v, _) in enumerate(points)
    )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="2" height="{}" fill="#b42318"/>',
        (
            (
                f"{i * step - 1:.1f}",
                f"{height - (e / top) * height:.1f}",
                f"{(e / top) * height:.1f}",
            )
            for i, (_, e) in enumerate(points)
            if e
        ),
    )
    return format_html(
        '<svg class="spark" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="volume and errors, last 24 h"><polyline fill="none" stroke="#2f6fb3" '
        'stroke-width="1.5" points="{}"/>{}</svg>',
        width, height, width, height, line, bars,
    )  # fmt: skip


@register.filter
def ago(value):
    return f"{timesince(value)} ago" if value else "never"


@register.filter
def percent(value):
    return "–" if value is None else f"{100 * value:.1f}%"


@register.filter
def ms(value):
    return "–" if value is None else f"≤{value} ms"
