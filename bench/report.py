"""Markdown tables and plots for bench.paper_tables results."""

from __future__ import annotations

from pathlib import Path

from .common import md_table
from .table1 import ROWS

PAPER_T1 = {"without_da": (1.4768, 8.5566), "flrc_only": (1.3700, 7.5960), "paper_da": (1.1412, 7.2588)}
PAPER_T2 = {"scratch": (1.011, 0.016, 2.143), "backbone": (1.481, 0.027, 3.138), "backbone_skip": (0.411, 0.007, 1.499),
            "backbone_skip_keypoints": (0.315, 0.004, 1.446)}


def _f(x):
    return "-" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))


def tables_md(r: dict) -> str:
    """Markdown of whichever tables ``r`` holds (``--tables`` may compute a subset)."""
    md = [f"# Paper tables on studio ground truth ({'quick' if r['quick'] else 'full'} run)", "",
          f"Machine: {r['machine']['cpu']} ({r['machine']['cores']} cores); commit {r['git_commit']}; "
          f"{r['seconds']} s; {r['frames_per_clip']} frames per clip, adaptation {r['adapt_steps']} steps.", ""]
    if "table1" in r:
        t1 = r["table1"]
        clips = [k for k in t1 if k != "average"]
        rows = []
        for row in [r_ for r_ in ROWS if r_ in t1["average"]]:  # older results have no paper_da
            for m in ("temporal", "reprojection"):
                paper = PAPER_T1.get(row, (None, None))[0 if m == "temporal" else 1]
                rows.append([row, m, *[_f(t1[c][row][m]) for c in clips], _f(t1["average"][row][m]), _f(paper)])
        md += ["## Table 1: wild rooms (temporal: Eq. 10, 1 is perfect; reprojection: salient points, px at 256)",
               "", md_table(["row", "metric", *clips, "average", "paper avg"], rows), ""]
    if "table2" in r:
        md += _tables23_md(r)
    if "fig10" in r:
        md += ["## Fig. 10: input resolution (px at 256)", "",
               md_table(["crop", "relative to 256", "salient vs GT"],
                        [[k, _f(v["relative"]), _f(v["salient"])] for k, v in r["fig10"].items()]), ""]
    return "\n".join(md)


def _tables23_md(r: dict) -> list[str]:
    t2 = r["table2"]
    md = ["## Table 2: I2ZNet variants on held-out lab views", "",
           md_table(["variant", "geometry", "texture", "temporal", "paper (geo, tex, temp)"],
                    [[k, _f(v["geometry"]), _f(v["texture"]), _f(v["temporal"]), str(PAPER_T2.get(k))]
                     for k, v in t2.items() if isinstance(v, dict)]), ""]
    t3 = r["table3"]
    rows3 = []
    for k, row in t3.items():
        for m in ("geometry", "headpose", "texture"):
            rows3.append([k, m, *[_f(row[p][m]) for p in ("view", "color", "light", "jitter", "background")]])
    md += ["## Table 3: perturbations", "", md_table(["variant", "metric", "view", "color", "light", "jitter",
                                                      "background"], rows3), ""]
    return md


def plots(r: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "fig10" in r:
        _fig10_plot(r, out, plt)
    if "table1" in r:
        _table1_plot(r, out, plt)


def _fig10_plot(r: dict, out: Path, plt) -> None:
    sizes = [int(k) for k in r["fig10"]]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(sizes, [r["fig10"][str(s)]["relative"] for s in sizes], "o-", label="relative to 256 input")
    ax.plot(sizes, [r["fig10"][str(s)]["salient"] for s in sizes], "s--", label="salient points vs GT")
    ax.axhline(4.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("face crop size (px)")
    ax.set_ylabel("reprojection error (px at 256)")
    ax.invert_xaxis()
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fig10.png", dpi=100)
    plt.close(fig)


def _table1_plot(r: dict, out: Path, plt) -> None:
    t1 = r["table1"]
    clips = [k for k in t1 if k != "average"]
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    rows = [r_ for r_ in ROWS if r_ in t1["average"]]
    for ax, m in zip(axs, ("temporal", "reprojection")):
        for i, row in enumerate(rows):
            ax.bar([j + 0.8 / len(rows) * i for j in range(len(clips))], [t1[c][row][m] for c in clips],
                   0.8 / len(rows), label=row)
        ax.set_xticks([j + 0.4 for j in range(len(clips))], clips, rotation=30, fontsize=7)
        ax.set_title(m)
    axs[0].set_ylim(0.95, None)  # Eq. 10: 1 is perfect
    fig.legend(*axs[0].get_legend_handles_labels(), loc="lower center", ncol=len(rows), fontsize=7)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(out / "table1.png", dpi=100)
    plt.close(fig)
