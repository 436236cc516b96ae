"""Template helpers of the operator pages."""

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince, timeuntil

from core.rollups import LATENCY_BUCKETS_MS

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
    """'just now', '42 s ago', '3 minutes ago', ... or 'never'."""
    if not value:
        return "never"
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    return f"{timesince(value)} ago"


@register.filter
def ago_or_in(value):
    """'in 3 minutes' for a time ahead, else as ``ago``."""
    if value and value > timezone.now():
        return f"in {timeuntil(value)}"
    return ago(value)


@register.filter
def percent(value):
    return "–" if value is None else f"{100 * value:.1f}%"


@register.filter
def ms(value):
    """A latency read from histogram buckets, as the bucket it fell in: 'under 25 ms',
    '50-100 ms', 'over 5 s'."""
    if value is None:
        return "–"
    bounds = (0, *LATENCY_BUCKETS_MS)
    if value > LATENCY_BUCKETS_MS[-1]:
        text = f"over {LATENCY_BUCKETS_MS[-1] / 1000:g} s"
    elif value == bounds[1]:
        text = f"under {value} ms"
    else:
        lower = max(b for b in bounds if b < value)
        text = f"{lower}–{value} ms"
    return format_html(
        '<span title="read from latency buckets: the quantile lies in this range">{}</span>', text
    )
