"""The quality page's plots, drawn here as inline SVG: readable without JavaScript, scaled by CSS to the page's
width, colours from the stylesheet (classes), every mark with a <title> that says its numbers."""

from __future__ import annotations

from collections.abc import Sequence

from django.template.defaultfilters import pluralize
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from search.evaluation import Bin

WIDTH, HEIGHT, MARGIN = 320, 320, 40


def _x(p: float, width: float = WIDTH) -> float:
    return MARGIN + p * (width - MARGIN - 12)


def _y(p: float) -> float:
    return HEIGHT - MARGIN - p * (HEIGHT - MARGIN - 12)


def _axes(x_label: str, y_label: str, width: float = WIDTH) -> list[str]:
    parts = [f'<rect class="plot-frame" x="{MARGIN}" y="12" width="{width - MARGIN - 12}" height="{HEIGHT - MARGIN - 12}"/>']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line class="plot-grid" x1="{_x(tick, width):.1f}" y1="12" x2="{_x(tick, width):.1f}" '
                     f'y2="{HEIGHT - MARGIN}"/>')
        parts.append(f'<text class="plot-tick" x="{_x(tick, width):.1f}" y="{HEIGHT - MARGIN + 14}" '
                     f'text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text class="plot-label" x="{_x(0.5, width):.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                 f'{escape(x_label)}</text>')
    if y_label:
        parts.append(f'<text class="plot-label" transform="translate(12 {_y(0.5):.1f}) rotate(-90)" '
                     f'text-anchor="middle">{escape(y_label)}</text>')
    return parts


def reliability_svg(series: Sequence[tuple[str, str, Sequence[Bin]]], *, label: str) -> SafeString:
    """A reliability diagram: for each series (name, css class, bins) the bins' (mean predicted, observed) points,
    each point's area by its count (a line through them would make a bin of one judgment look like a trend); the
    diagonal is perfect calibration."""
    parts = _axes("predicted probability", "observed share right")
    for tick in (0.25, 0.5, 0.75, 1):
        parts.append(f'<text class="plot-tick" x="{MARGIN - 4}" y="{_y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    parts.append(f'<line class="plot-diagonal" x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1):.1f}" y2="{_y(1):.1f}"/>')
    most = max((b.count for _, _, bins in series for b in bins), default=1)
    for n, (name, css, bins) in enumerate(series):
        for b in bins:
            r = 2.5 + 5.5 * (b.count / most) ** 0.5
            parts.append(f'<circle class="plot-point {css}" cx="{_x(b.predicted):.1f}" cy="{_y(b.observed):.1f}" '
                         f'r="{r:.1f}"><title>{escape(name)}: predicted {b.predicted:.2f}, observed '
                         f'{b.observed:.2f} ({b.count} judgment{pluralize(b.count)})</title></circle>')
        # The legend goes below the axes: inside the frame its dot read as a point, over those drawn there.
        parts.append(f'<circle class="plot-point {css}" cx="{MARGIN + 6}" cy="{HEIGHT + 6 + 16 * n}" r="5"/>'
                     f'<text class="plot-legend" x="{MARGIN + 16}" y="{HEIGHT + 10 + 16 * n}">{escape(name)}</text>')
    return _svg(parts, label, WIDTH, HEIGHT + 16 * len(series) + 4)


ROW = 22
QUERY_CHARS = 16  # a longer query is cut, with "…" (its <title> says it whole)


def score_strips_svg(rows: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, label: str) -> SafeString:
    """Per query (name, scores of the results judged right, of those judged wrong): a strip of the scores from 0
    to 1, right ones as filled dots above the line, wrong ones as rings below it."""
    # Room at the left for a query of QUERY_CHARS in the phone's larger letters (app.css: .plot-strips).
    width, left = 420, 150
    height = 30 + ROW * len(rows) + 24

    def x(p: float) -> float:
        return left + p * (width - left - 12)

    parts = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line class="plot-grid" x1="{x(tick):.1f}" y1="8" x2="{x(tick):.1f}" y2="{height - 24}"/>')
        parts.append(f'<text class="plot-tick" x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle">{tick:g}</text>')
    for n, (query, right, wrong) in enumerate(rows):
        y = 20 + ROW * n
        short = query if len(query) <= QUERY_CHARS else query[:QUERY_CHARS - 1] + "…"
        parts.append(f'<text class="plot-query" x="{left - 8}" y="{y + 4}" text-anchor="end">'
                     f'<title>{escape(query)}</title>{escape(short)}</text>')
        parts.append(f'<line class="plot-axis" x1="{x(0)}" y1="{y}" x2="{x(1):.1f}" y2="{y}"/>')
        for p in right:
            parts.append(f'<circle class="plot-right" cx="{x(p):.1f}" cy="{y - 4}" r="3.5">'
                         f'<title>right: {p:.3f}</title></circle>')
        for p in wrong:
            parts.append(f'<circle class="plot-wrong" cx="{x(p):.1f}" cy="{y + 4}" r="3.5">'
                         f'<title>wrong: {p:.3f}</title></circle>')
    return _svg(parts, label, width, height, css="plot plot-strips")


def _svg(parts: list[str], label: str, width: float, height: float, css: str = "plot") -> SafeString:
    return mark_safe(  # noqa: S308 - every text inside was escaped above
        f'<svg class="{css}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(parts)}</svg>')


MAX_QUERIES_PLOTTED = 40


def quality_plots(quality) -> dict:
    """The quality page's two plots (search.quality.Quality), each with the sentence that says what it shows."""
    from search.evaluation import Bin

    def bins(figures: dict | None) -> list[Bin]:
        return [Bin(**b) for b in (figures or {}).get("bins", [])]

    fit = quality.fit
    if fit is not None:
        series = [("before the fit", "series-before", bins(fit.metrics.get("before"))),
                  ("after the fit", "series-after", bins(fit.metrics.get("after")))]
        reliability_text = (
            "Each point groups judged results by the probability search gave them (across) and shows how many of "
            "them members marked right (up): on the diagonal, a score of 0.8 is right 8 times in 10. Both series are "
            "held-out: each query was scored by a fit that had not seen it.")
    else:
        series = [("now", "series-after", bins(quality.current))]
        reliability_text = (
            "Each point groups judged results by the probability search gives them now (across) and shows how many "
            "of them members marked right (up): on the diagonal, a score of 0.8 is right 8 times in 10.")
    rows = sorted(quality.per_query, key=lambda q: -(len(q.right) + len(q.wrong)))[:MAX_QUERIES_PLOTTED]
    rows.sort(key=lambda q: q.query)
    return {
        "reliability_svg": reliability_svg(series, label="Reliability diagram: predicted probability against the "
                                                         "share judged right"),
        "reliability_text": reliability_text,
        "strips_svg": score_strips_svg([(q.query, q.right, q.wrong) for q in rows],
                                       label="Scores of the results judged right and wrong, per query") if rows else "",
        "strips_text": (
            "For each judged query, the score search gives each judged result now: filled dots were marked right, "
            "rings wrong. Search works well for a query when its dots sit to the right of its rings."
            + (f" The {MAX_QUERIES_PLOTTED} queries with most judgments are shown." if len(quality.per_query)
               > MAX_QUERIES_PLOTTED else "")),
    }
