"""Server-side SVG charts: no script, no inline style (presentation attributes only, so the
strict Content-Security-Policy holds), a ``<title>`` and ``<desc>`` naming what is shown, and
every bar labelled with its number — colour never carries meaning alone (failed requests are
also hatched and named in the legend). Hand-written because the charts are two simple shapes and
a chart library would need script or a rendering dependency; each chart has the same numbers in
a data table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

INK = "#1b1b1b"
BAR = "#2f5d8a"
FAIL = "#b3261e"


class Bar(Protocol):
    label: str
    count: int
    failed: int


def _hatch(chart_id: str) -> str:
    return (
        f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/><rect width="3" height="6" fill="{FAIL}"/>'
        "</pattern></defs>"
    )


def _legend(chart_id: str, x: int, y: int) -> str:
    served, failed = escape(_("requests")), escape(_("of them not served"))
    return (
        f'<rect x="{x}" y="{y}" width="12" height="12" fill="{BAR}"/>'
        f'<text x="{x + 16}" y="{y + 10}" font-size="12" fill="{INK}">{served}</text>'
        f'<rect x="{x + 120}" y="{y}" width="12" height="12" fill="url(#{chart_id}-hatch)" '
        f'stroke="{FAIL}"/><text x="{x + 136}" y="{y + 10}" font-size="12" fill="{INK}">'
        f"{failed}</text>"
    )


def _frame(chart_id: str, width: int, height: int, title: str, desc: str, body: str) -> SafeString:
    return mark_safe(  # noqa: S308 — every text above is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'class="chart"><title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>{_hatch(chart_id)}{body}</svg>'
    )


def columns(chart_id: str, title: str, bars: Sequence[Bar], every: int = 1) -> SafeString:
    """A time series as columns (requests, the not-served part hatched), the axis labelled every
    ``every`` buckets."""
    width, height, left, top, bottom = 760, 260, 48, 28, 40
    plot_h = height - top - bottom
    n = max(len(bars), 1)
    step = (width - left - 8) / n
    peak = max((b.count for b in bars), default=0) or 1
    parts = [_legend(chart_id, left, 6)]
    not_served = escape(_("not served"))
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
        f'stroke="{INK}"/><text x="{left - 4}" y="{top + 10}" font-size="11" '
        f'text-anchor="end" fill="{INK}">{peak:,}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="11" text-anchor="end" '
        f'fill="{INK}">0</text>'
    )
    for i, b in enumerate(bars):
        x = left + i * step
        h = plot_h * b.count / peak
        fh = plot_h * b.failed / peak
        w = max(step * 0.8, 1)
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"><title>{escape(b.label)}: {b.count:,}</title></rect>'
        )
        if b.failed:
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - fh:.1f}" width="{w:.1f}" '
                f'height="{fh:.1f}" fill="url(#{chart_id}-hatch)" stroke="{FAIL}">'
                f"<title>{escape(b.label)}: {b.failed:,} {not_served}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{height - bottom + 16}" font-size="10" '
                f'text-anchor="middle" fill="{INK}">{escape(b.label)}</text>'
            )
    total = sum(b.count for b in bars)
    failed = sum(b.failed for b in bars)
    desc = _("%(n)s buckets, %(total)s requests in all, %(failed)s of them not served.") % {
        "n": len(bars),
        "total": f"{total:,}",
        "failed": f"{failed:,}",
    }
    return _frame(chart_id, width, height, title, desc, "".join(parts))


def bars(chart_id: str, title: str, rows: Sequence[Bar], limit: int = 12) -> SafeString:
    """Horizontal bars, each with its label and number written beside it."""
    rows = list(rows)[:limit]
    row_h, left, width = 26, 220, 760
    height = 28 + row_h * max(len(rows), 1)
    peak = max((r.count for r in rows), default=0) or 1
    span = width - left - 90
    parts = [_legend(chart_id, left, 6)]
    for i, r in enumerate(rows):
        y = 28 + i * row_h
        w = span * r.count / peak
        fw = span * r.failed / peak
        label = r.label if len(r.label) <= 32 else r.label[:31] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" font-size="12" text-anchor="end" fill="{INK}">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="16" fill="{BAR}"/>'
        )
        if r.failed:
            parts.append(
                f'<rect x="{left}" y="{y + 3}" width="{max(fw, 1):.1f}" height="16" '
                f'fill="url(#{chart_id}-hatch)" stroke="{FAIL}"/>'
            )
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12" fill="{INK}">'
            f"{r.count:,}</text>"
        )
    desc = _("%(n)s rows, largest first.") % {"n": len(rows)}
    return _frame(chart_id, width, height, title, desc, "".join(parts))
