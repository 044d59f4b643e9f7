"""The markdown summary and the PNG plot of a :mod:`bench.soak` report."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np


def _f(v, fmt: str = "{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def markdown(report: dict, title: str = "") -> str:
    """A short table: RSS per process after warm-up / at the end / slopes, descriptors, FPS, drops."""
    s, m = report["summary"], report["machine"]
    lines = [f"# {title or 'Soak'}", "",
             f"Command: `python -m bench.soak {shlex.join(report['soak_argv'])}`", "",
             f"App: `{shlex.join(report['command'])}` (exit code {report['exit_code']})", "",
             f"Machine: {m['platform']}, {m['cpu']}, {m['cpu_count']} CPUs, {m['mem_gb']} GB, python {m['python']}, "
             f"torch {m['torch']}, git {m['git']}", "",
             f"{s.get('seconds', 0):.0f} s, {s.get('samples')} samples every {report['interval_s']:g} s, warm-up "
             f"{report['warmup_s']:g} s (from the first tracked frame, at {s.get('tracking_from_s', 0):.0f} s)"
             f" left out of the growth figures; tracking ended at {s.get('tracking_to_s', 0):.0f} s.", "",
             "| process | RSS after warm-up (MB) | RSS at the end of tracking (MB) | max (MB) "
             "| slope after warm-up (MB/min) | slope, second half (MB/min) |", "|---|---|---|---|---|---|"]
    for name, r in s.get("rss", {}).items():
        lines.append(f"| {name} | {_f(r['after_warmup_mb'])} | {_f(r['end_mb'])} | {_f(r['max_mb'])} | "
                     f"{_f(r['slope_after_warmup_mb_per_min'], '{:+.2f}')} | "
                     f"{_f(r['slope_second_half_mb_per_min'], '{:+.2f}')} |")
    lines += ["", f"Open file descriptors (all processes): {s.get('fds_after_warmup')} after warm-up, "
              f"{s.get('fds_end')} at the end, {s.get('fds_max')} at most.", "",
              f"Frames tracked {s.get('frames')}, captured {s.get('captured')}, dropped {s.get('dropped')}; "
              f"FPS per interval mean {_f(s.get('fps_mean'))}, min {_f(s.get('fps_min'))}."]
    app = report.get("app")
    if app:
        lat = (app.get("latency_ms") or {}).get("latency") or {}
        lines += ["", f"App summary (`app.json`): {app.get('frames')} frames, {_f(app.get('fps'))} FPS, dropped "
                  f"{app.get('frames_dropped')}, camera-to-result p50/p95 {_f(lat.get('p50'))}/{_f(lat.get('p95'))} ms "
                  f"(n = {lat.get('n')})."]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path, title: str = "") -> None:
    """RSS per process and in total, FPS and descriptors over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = report["samples"]
    t = np.array([x["t"] for x in samples], np.float64) / 60.0
    fig, ax = plt.subplots(3, 1, figsize=(8, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 1.3]})
    names = report["summary"].get("processes", [])
    ax[0].plot(t, [x["rss_total_mb"] for x in samples], color="k", lw=1.8, label="total")
    for n in names:
        ax[0].plot(t, [x["procs"].get(n, {}).get("rss_mb", np.nan) for x in samples], lw=1.2, label=n)
    s = report["summary"]
    ax[0].axvline((s.get("tracking_from_s", 0.0) + report["warmup_s"]) / 60.0, color="0.6", ls=":", lw=1)
    ax[0].set_ylabel("RSS (MB)")
    ax[0].legend(fontsize=8, loc="best")
    tot = report["summary"].get("rss", {}).get("total", {})
    k = _f(tot.get("slope_after_warmup_mb_per_min"), "{:+.2f}")
    ax[0].set_title(f"{title or 'soak'}\ntotal RSS slope after warm-up (dotted line): {k} MB/min", fontsize=10)
    ax[1].plot(t, [np.nan if x.get("fps") is None else x["fps"] for x in samples], color="tab:blue", lw=1)
    ax[1].set_ylabel("FPS")
    ax[2].plot(t, [x["fds_total"] for x in samples], color="tab:green", lw=1)
    ax[2].set_ylabel("open fds")
    ax[2].set_xlabel("minutes")
    for a in ax:
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
