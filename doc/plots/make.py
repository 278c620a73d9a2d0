#!/usr/bin/python3
"""make.py: the plots of doc/benchmarks.md, from the figures transcribed from its tables
into doc/plots/benchmarks.json (nothing is measured here). Writes doc/plots/NAME.png for
each figure; Debian's python3-matplotlib (tools/setup installs it).

  doc/plots/make.py [NAME...]     all figures, or the ones named
"""
import json
import os
import statistics
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COLORS = ["#1f5fa8", "#d9730d", "#2a8a3e", "#8c3fa8", "#777777"]


def panel(ax, p):
    """Grouped bars: one group per entry of groups, one bar per series. A value that is
    a list (one per run) is drawn as a bar at the median with a dot per run."""
    groups, series = p["groups"], p["series"]
    n = len(series)
    width = 0.8 / n
    runs = False
    for k, (label, values) in enumerate(series.items()):
        xs = [g + (k - (n - 1) / 2) * width for g in range(len(groups))]
        heights = [statistics.median(v) if isinstance(v, list) else v for v in values]
        bars = ax.bar(xs, heights, width * 0.92, label=label, color=COLORS[k % len(COLORS)])
        for x, v, b in zip(xs, values, bars):
            if isinstance(v, list):
                runs = True
                ax.plot([x] * len(v), v, "o", ms=3.5, color="black", zorder=3)
            else:
                txt = "{:,}".format(v) if isinstance(v, int) else "%g" % v
                ax.annotate(txt, (x, b.get_height()), ha="center", va="bottom",
                            fontsize=7, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8, rotation=20 if len(groups) > 4 else 0,
                       ha="right" if len(groups) > 4 else "center")
    if p.get("log"):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
        ax.yaxis.set_minor_formatter(FuncFormatter(
            lambda v, _: "%g" % v if ("%g" % v)[0] in "25" else ""))
        ax.tick_params(axis="y", which="minor", labelsize=7)
    if "ymax" in p:
        ax.set_ylim(top=p["ymax"])     # room for the legend above the bars
    ax.set_ylabel(p.get("ylabel", ""), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if "hline" in p:
        y, text = p["hline"]
        ax.axhline(y, color="#b3261e", lw=1, ls="--", label=text)
    ax.legend(fontsize=7.5, loc=p.get("legend", "best"))
    return runs


def figure(f):
    panels = f.get("panels") or [f]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.5, 3.8),
                             squeeze=False)
    runs = False
    for ax, p in zip(axes[0], panels):
        runs |= panel(ax, p)
    foot = []
    if runs:
        foot.append("bars: median of the runs; dots: each run")
    if "note" in f:
        foot.append(f["note"])
    foot.append("doc/benchmarks.md, \"%s\"" % f["section"])
    width = fig.get_size_inches()[0]
    lines = textwrap.wrap("; ".join(foot), int(width * 17))
    fig.suptitle(f["title"], fontsize=10.5)
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, color="#555", va="bottom")
    fig.tight_layout(rect=(0, 0.03 + 0.035 * len(lines), 1, 0.95))
    out = os.path.join(HERE, f["name"] + ".png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main():
    with open(os.path.join(HERE, "benchmarks.json")) as fh:
        figs = json.load(fh)["figures"]
    want = set(sys.argv[1:])
    unknown = want - {f["name"] for f in figs}
    if unknown:
        sys.exit("make.py: no figure named %s" % ", ".join(sorted(unknown)))
    for f in figs:
        if not want or f["name"] in want:
            print(os.path.relpath(figure(f)))


if __name__ == "__main__":
    main()
