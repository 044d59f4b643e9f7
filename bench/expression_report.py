"""Markdown tables and plots of bench.expression_fidelity results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.face_signals import REGIONS, face_signals

from .common import md_table
from .expression_scores import mean_over

SUMMARY = (("nme51", ("nme51",)), *((f"nme {k}", ("nme", k)) for k in REGIONS),
           ("r mouth open", ("r", "mouth_open")), ("r mouth width", ("r", "mouth_width")),
           ("r eye L", ("r", "eye_open_l")), ("r eye R", ("r", "eye_open_r")), ("r brow", ("r", "brow_height")),
           ("blink F1", ("blink", "f1")), ("2D stab", ("stability_2d",)))


def _get(d: dict, path: tuple) -> float:
    for p in path:
        d = d.get(p, float("nan")) if isinstance(d, dict) else float("nan")
    return d


def _f(x) -> str:
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def sources(r: dict) -> list[tuple[str, str, str]]:
    """(row label, bundle label, key) for every scored landmark track: each bundle's tracker and
    the tracker's input detector (the same detector for every bundle: shown once); on real clips
    also each bundle's avatar landmarks (the projection without the per-person corrective)."""
    labels = list(r["bundles"])
    out = [(f"tracker {b}", b, "tracker") for b in labels]
    out += [(f"avatar {b}", b, "avatar_landmarks") for b in labels]
    return out + [("detector input", labels[0], "detector_input")]


NAMED_KEYS = ("eye_open_l", "eye_open_r", "mouth_open", "mouth_width", "brow_height")


def real_means(r: dict) -> dict:
    """Mean over the real clips per source; brow r also over the clips where dlib's brow varies."""
    clips = list(r["real"].values())
    out = {}
    for row, b, key in sources(r):
        scored = [c["bundles"][b][key] for c in clips if key in c["bundles"][b]]
        if not scored:
            continue
        m = {name: mean_over(scored, path) for name, path in SUMMARY}
        varies = [c["bundles"][b][key] for c in clips if c["brow"]["varies"] and key in c["bundles"][b]]
        m["r brow (brow varies)"] = mean_over(varies, ("r", "brow_height"))
        stabs = [s["stability_2d"] for s in scored if np.isfinite(s["stability_2d"])]
        m["2D stab max"] = float(max(stabs)) if stabs else float("nan")
        out[row] = m
    return out


def named_means(r: dict) -> dict:
    """Per bundle: the mean over the real clips of each named weight's r with dlib's signal (named_signal_r)."""
    out = {}
    for b in r["bundles"]:
        rs = [c["bundles"][b].get("named_signal_r", {}) for c in r["real"].values()]
        keys = sorted({k for d in rs for k in d})
        out[b] = {k: float(np.nanmean([d.get(k, np.nan) for d in rs])) if any(np.isfinite(d.get(k, np.nan))
                  for d in rs) else float("nan") for k in keys}
    return out


def real_md(r: dict) -> list[str]:
    heads = [name for name, _ in SUMMARY]
    rows = []
    for clip, c in r["real"].items():
        for row, b, key in sources(r):
            s = c["bundles"][b].get(key)
            if s is None:
                continue
            vals = [_get(s, path) for _, path in SUMMARY]
            blink = f"{_f(vals[-2])} ({s['blink'].get('n_pred', '-')}/{s['blink'].get('n_ref', '-')})"
            rows.append([clip, row, *map(_f, vals[:-2]), blink, _f(vals[-1])])
    brow = [[clip, _f(c["brow"]["spread"]), _f(c["brow"]["jitter"]), _f(c["brow"]["ratio"]),
             "yes" if c["brow"]["varies"] else "no", _f(c["dlib"]["found_fraction"]),
             _f(c["dlib"]["stability_2d"]), c["frames"]] for clip, c in r["real"].items()]
    means = real_means(r)
    mrows = [[row, *[_f(m[k]) for k in heads], _f(m["r brow (brow varies)"]), _f(m["2D stab max"])]
             for row, m in means.items()]
    return ["## Real videos against per-frame dlib", "",
            "Blink F1 (+-2 frames) on both eyes averaged, (found / dlib's); NME divided by dlib's "
            "outer-eye-corner distance; 2D stab: Eq. 10 on the 68 points, +0.1 px.", "",
            md_table(["clip", "source", *heads[:-2], "blink F1 (n/n_ref)", "2D stab"], rows), "",
            "### Mean over the clips", "",
            md_table(["source", *heads, "r brow (clips where dlib's brow varies)", "2D stab (worst clip)"], mrows), "",
            "### The named weights (FrameResult.expressions) against dlib's signals, mean over the clips", "",
            "Pearson r of eyeBlink* with the eye opening (sign flipped), jawOpen with the mouth opening, "
            "browInnerUp with the brow height, smile - pucker with the mouth width.", "",
            md_table(["bundle", *NAMED_KEYS], [[b, *[_f(m.get(k)) for k in NAMED_KEYS]]
                                                for b, m in named_means(r).items()]), "",
            "### Per clip: does dlib's brow signal vary? (spread / jitter >= "
            f"{r['definitions']['brow_varies_ratio']}), dlib found fraction and its own 2D stability", "",
            md_table(["clip", "brow spread", "jitter", "ratio", "varies", "dlib found", "dlib 2D stab", "frames"],
                     brow), ""]


def synth_md(r: dict) -> list[str]:
    if not r.get("synthetic"):
        return []
    rows, notes = [], set()
    for clip, c in r["synthetic"].items():
        for b, s in c["bundles"].items():
            bl = s["blink_gt"]
            mae, gaze, ve = s["expression_mae"], s["gaze_error_deg"], s["vertex_error"]
            for v in (mae, gaze, ve):
                if v.get("value") == "n/a":
                    notes.add(v["reason"])
            reg = ve.get("per_region", {})
            rows.append([clip, b, _f(s["nme51"]), _f(s["r"]["eye_open_l"]), _f(s["r"]["eye_open_r"]),
                         _f(s["r"]["mouth_open"]), _f(s["r"]["brow_height"]),
                         f"{_f(bl['from_landmarks'].get('f1'))} ({bl['from_landmarks'].get('n_pred', '-')}/"
                         f"{bl['from_landmarks'].get('n_ref', '-')})", _f(bl["from_expressions"].get("f1")),
                         _f(mae["value"]), _f(gaze["value"]),
                         *[_f(reg.get(k, "n/a")) for k in (*REGIONS, "face")], _f(s["stability_2d"])])
    return ["## Synthetic clips (studio persons other than the avatar) against ground truth", "",
            "NME / r against the rendered person's 2D landmarks; blink F1 against ground-truth blink "
            "weight events (> 0.5, both eyes averaged); vertex error (model units, face ~2 wide) against the "
            "avatar person's geometry for the clip's expression weights.", "",
            md_table(["clip", "bundle", "nme51", "r eye L", "r eye R", "r mouth open", "r brow",
                      "blink F1 landmarks", "blink F1 weights", "expr MAE", "gaze deg",
                      *[f"verts {k}" for k in (*REGIONS, "face")], "2D stab"], rows), "",
            *[f"- n/a: {n}" for n in sorted(notes)], ""]


def results_md(r: dict) -> str:
    m = r["machine"]
    head = [f"# Expression fidelity ({'quick' if r['quick'] else 'full'} run)", "",
            f"Command: `{r['command']}`", "",
            f"Machine: {m['cpu']} ({m['cores']} cores, torch threads {m['torch_threads']}, cuda {m['cuda']}); "
            f"commit {r['git_commit']}; {r['seconds']} s.", "",
            "Bundles: " + ", ".join(f"`{k}` = {v}" for k, v in r["bundles"].items()), "",
            f"Reference: {r['definitions']['reference']}.", ""]
    return "\n".join(head + (real_md(r) if r["real"] else []) + synth_md(r))


# ---------------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def eye_plot(clip: str, fps: float, ref: np.ndarray, tracks: dict[str, np.ndarray], path: Path,
             ref_blinks: list[int]) -> None:
    """Eye opening of both eyes over time: dlib (reference) and each track in ``tracks``."""
    plt = _plt()
    t = np.arange(len(ref)) / fps
    fig, axs = plt.subplots(2, 1, figsize=(11, 4.8), sharex=True)
    sr = face_signals(ref)
    for ax, eye, title in zip(axs, ("eye_open_r", "eye_open_l"), ("subject's right eye (iBUG 36-41)",
                                                                  "subject's left eye (iBUG 42-47)")):
        ax.plot(t, sr[eye], "k-", lw=1.4, label="dlib per frame (reference)")
        for (name, pts), style in zip(tracks.items(), ("C0-", "C3-", "C2--", "C1--", "C4:", "C5:")):
            ax.plot(t, face_signals(pts)[eye], style, lw=1.0, label=name)
        for b in ref_blinks:
            ax.axvline(b / fps, color="gray", lw=0.6, ls=":")
        ax.set_ylabel("opening / eye corners")
        ax.set_title(title, fontsize=9)
    axs[1].set_xlabel("seconds (dotted: blinks found in dlib's track)")
    axs[0].legend(fontsize=7, ncol=4, loc="upper right")
    fig.suptitle(clip, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def overview_plot(r: dict, path: Path) -> None:
    """One panel per measure, one bar group per clip, one bar per source."""
    plt = _plt()
    clips = list(r["real"])
    panels = [("NME51", ("nme51",)), ("r mouth open", ("r", "mouth_open")), ("r mouth width", ("r", "mouth_width")),
              ("r eye L", ("r", "eye_open_l")), ("r eye R", ("r", "eye_open_r")), ("r brow", ("r", "brow_height")),
              ("blink F1", ("blink", "f1")), ("2D stability", ("stability_2d",))]
    src = sources(r)
    fig, axs = plt.subplots(2, 4, figsize=(15, 6.5))
    w = 0.8 / len(src)
    for ax, (title, pth) in zip(axs.ravel(), panels):
        for k, (row, b, key) in enumerate(src):
            vals = [_get(r["real"][c]["bundles"][b].get(key, {}), pth) for c in clips]
            ax.bar(np.arange(len(clips)) + k * w, np.nan_to_num(np.asarray(vals, float)), w, label=row)
        ax.set_xticks(np.arange(len(clips)) + 0.4 - w / 2, [c.replace("liveportrait_", "") for c in clips],
                      rotation=40, fontsize=7)
        ax.set_title(title, fontsize=9)
    fig.legend(*axs[0, 0].get_legend_handles_labels(), loc="lower center", ncol=len(src), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
