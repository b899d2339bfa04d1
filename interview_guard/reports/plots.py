"""The report's timeline figure (matplotlib, Agg, PNG bytes).

Top panel: the accumulated risk S over time with the amber and red thresholds, the level as a
calm background band (green / amber / red / grey = cannot judge) and the cue times. Bottom
panel: one row per detector, each 2-s hop coloured by that detector's weighted calibrated LLR
(blue = looks genuine, orange = leans altered, white = nothing / abstained).
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np

from interview_guard.core.types import NS_PER_S

LEVEL_COLOURS = {"green": "#dcefdc", "amber": "#f6e3b4", "red": "#f1c6c0", "inconclusive": "#e4e6ea"}


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _minutes_axis(ax, t_max_s: float) -> tuple[float, str]:
    if t_max_s > 600:
        return 60.0, "time (min)"
    return 1.0, "time (s)"


def timeline_png(points: Sequence, cues: Sequence, *, h_amber: float, h_red: float,
                 names: dict[str, str] | None = None, width_in: float = 11.0, dpi: int = 100) -> bytes:
    """PNG bytes of the timeline. ``points``: fusion.RiskPoint; ``cues``: fusion.Cue."""
    plt = _mpl()
    names = names or {}
    t = np.array([p.t_ns / NS_PER_S for p in points]) if points else np.zeros(0)
    t_max = float(t.max()) if len(t) else 1.0
    scale, xlabel = _minutes_axis(None, t_max)
    dets = sorted({d for p in points for d in p.contrib}) if points else []
    n_rows = max(1, len(dets))
    fig_h = 2.6 + 0.32 * n_rows
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(width_in, fig_h), dpi=dpi, sharex=True,
                                  gridspec_kw={"height_ratios": [2.2, max(0.8, 0.32 * n_rows)]})
    hop = (t[1] - t[0]) if len(t) > 1 else 2.0
    # level bands
    if len(t):
        cur, start = points[0].level.value, t[0] - hop
        for p, tt in zip(points[1:], t[1:]):
            if p.level.value != cur:
                ax.axvspan(start / scale, (tt - hop) / scale, color=LEVEL_COLOURS.get(cur, "#eee"), lw=0)
                cur, start = p.level.value, tt - hop
        ax.axvspan(start / scale, t[-1] / scale, color=LEVEL_COLOURS.get(cur, "#eee"), lw=0)
        S = np.array([p.S for p in points])
        ax.plot(t / scale, S, color="#34495e", lw=1.4, label="accumulated risk")
        top = max(h_red * 1.1, float(S.max()) * 1.1 if len(S) else 1.0)
        ax.set_ylim(0, top)
    ax.axhline(h_amber, color="#b7791f", lw=1, ls="--", label=f"amber ({h_amber:g})")
    ax.axhline(h_red, color="#a94438", lw=1, ls="--", label=f"red ({h_red:g})")
    for c in cues:
        if c.level.value in ("amber", "red"):
            ax.axvline(c.t_ns / NS_PER_S / scale, color="#555", lw=0.8, alpha=0.6)
    ax.set_ylabel("risk (nats)")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=3)
    ax.set_title("Risk over time (background: level shown to the interviewer)", fontsize=10, loc="left")
    # detector rows
    if dets and len(t):
        grid = np.full((len(dets), len(t)), np.nan)
        for j, p in enumerate(points):
            for i, d in enumerate(dets):
                if d in p.contrib:
                    grid[i, j] = p.contrib[d]
        vmax = max(0.5, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0)
        cmap = plt.get_cmap("PuOr_r").with_extremes(bad="#ffffff")
        ax2.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax,
                   extent=((t[0] - hop) / scale, t[-1] / scale, len(dets) - 0.5, -0.5), interpolation="nearest")
        ax2.set_yticks(range(len(dets)))
        ax2.set_yticklabels([names.get(d, d) for d in dets], fontsize=8)
    else:
        ax2.text(0.5, 0.5, "no detector could judge this recording", ha="center", va="center",
                 transform=ax2.transAxes, fontsize=9, color="#555")
        ax2.set_yticks([])
    ax2.set_xlabel(xlabel)
    ax2.set_title("Each check over time (orange: leans altered, purple: looks genuine, blank: could not judge)",
                  fontsize=9, loc="left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def summary_bar_png(rows: Sequence[tuple[str, str]], *, dpi: int = 100) -> bytes:
    """A small bar of levels per file (batch summary). ``rows``: (name, level)."""
    plt = _mpl()
    order = ["green", "inconclusive", "amber", "red"]
    counts = [sum(1 for _, lv in rows if lv == o) for o in order]
    fig, ax = plt.subplots(figsize=(6, 1.6), dpi=dpi)
    ax.barh(order, counts, color=[LEVEL_COLOURS[o] for o in order], edgecolor="#666")
    for i, c in enumerate(counts):
        ax.text(c + 0.1, i, str(c), va="center", fontsize=8)
    ax.set_xlabel("recordings")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
