"""Soak test: run the app for minutes and watch its memory, descriptors, FPS and dropped frames.

``python -m bench.soak --minutes M --source SPEC [--window] [--no-render] --out DIR``

Starts the app as a subprocess (headless by default: ``launcher.py --headless --seconds ...
--progress ...``; ``--window``: the real window via :mod:`bench.soak_window`, under ``xvfb-run``
when there is no display) and every ``--interval`` seconds samples, from ``/proc``, the resident
memory (RSS) and open file descriptors of the app and of each of its helper processes (avatar
drawing, synthetic actor, adaptation), plus the app's own running figures (frames, FPS, dropped).
A video source loops (the app's default; ``--no-loop`` is never passed) and plays at its frame
rate (``--realtime``) unless ``--fast``.

Writes ``soak.json`` (machine, command, every sample, summary), ``soak.md`` and ``soak.png`` under
DIR. The summary's growth figures are least-squares slopes of RSS (MB per minute) after the
warm-up (``--warmup`` s from the first tracked frame) and over the second half of the tracking;
``--max-slope MB/min`` makes the exit code 1 when the second half's total slope is above it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ("app.pipeline.render_process", "app.sources.process", "app.pipeline.adapt_process")


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, short name) of every process ``/proc`` shows."""
    out: dict[int, tuple[int, str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        out[int(d)] = (ppid, _name([a.decode(errors="replace") for a in argv if a]))
    return out


def _name(argv: list[str]) -> str:
    exe = Path(argv[0]).name if argv else "?"
    if not exe.startswith("python"):
        return exe  # e.g. the xvfb-run shell script, whose arguments name the app too
    for h in HELPERS:
        if h in argv:
            return h.split(".", 1)[1]
    if any(a.endswith(("launcher.py", "bench.soak_window")) for a in argv):
        return "app"
    return exe


def _status(pid: int) -> tuple[float | None, int | None]:
    """(RSS MB, open descriptors) of one process; None where it is gone."""
    rss = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024.0
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return rss, None
    return rss, fds


def sample_tree(root: int) -> dict[str, dict]:
    """RSS and descriptors of ``root`` (as "app", unless it is a wrapper such as xvfb-run) and of
    every descendant, keyed by short name (a second process of one name gets "#2")."""
    table = _proc_table()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out: dict[str, dict] = {}
    todo = [root]
    while todo:
        pid = todo.pop(0)
        todo += sorted(kids.get(pid, []))
        name = table.get(pid, (0, "?"))[1]
        if name not in ("app", *(h.split(".", 1)[1] for h in HELPERS)):
            continue  # wrappers (xvfb-run, sh) and the X server are not the app
        rss, fds = _status(pid)
        if rss is None:
            continue
        key, i = name, 2
        while key in out:
            key, i = f"{name}#{i}", i + 1
        out[key] = {"pid": pid, "rss_mb": rss, "fds": fds}
    return out


def _last_line(path: Path) -> dict:
    try:
        lines = path.read_text().strip().splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


def slope(t: np.ndarray, y: np.ndarray) -> float | None:
    """Least-squares slope of y per minute (t in seconds); None with fewer than 3 points."""
    ok = np.isfinite(t) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(t[ok]) <= 0:
        return None
    return float(np.polyfit(t[ok] / 60.0, y[ok], 1)[0])


def app_command(a, out: Path) -> list[str]:
    """The command line that starts the app for this soak."""
    seconds = 60.0 * a.minutes
    common = ["--source", a.source, "--log-level", "WARNING", *(["--bundle", a.bundle] if a.bundle else []),
              *(["--size", a.size] if a.size else []), *(["--fps", str(a.fps)] if a.fps else [])]
    if a.window:
        cmd = [sys.executable, "-m", "bench.soak_window", "--seconds", str(seconds), "--progress",
               str(out / "progress.jsonl"), "--progress-every", str(a.interval), *common]
        if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
            cmd = ["xvfb-run", "-a", "-s", "-screen 0 1400x860x24", *cmd]
        return cmd
    return [sys.executable, str(ROOT / "launcher.py"), "--headless", *common, "--frames", "1000000000",
            "--seconds", str(seconds), "--progress", str(out / "progress.jsonl"), "--progress-every",
            str(a.interval), "--json", str(out / "app.json"), *([] if a.fast else ["--realtime"]),
            *(["--no-render"] if a.no_render else []), *a.app_args]


def run_soak(a) -> dict:
    """Run the app, sample it until it ends (or ``minutes`` + ``grace`` s pass); -> the soak report."""
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = app_command(a, out)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if a.window and not os.environ.get("DISPLAY") and not shutil.which("xvfb-run"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    log = open(out / "app.log", "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    samples: list[dict] = []
    deadline = t0 + 60.0 * a.minutes + a.grace
    try:
        while proc.poll() is None and time.perf_counter() < deadline:
            procs = sample_tree(proc.pid)
            prog = _last_line(out / "progress.jsonl")
            samples.append({"t": time.perf_counter() - t0, "procs": procs,
                            "rss_total_mb": sum(p["rss_mb"] for p in procs.values()),
                            "fds_total": sum(p["fds"] or 0 for p in procs.values()),
                            **{k: prog.get(k) for k in ("frames", "fps", "dropped", "captured", "final")},
                            "app_t": prog.get("t")})
            time.sleep(max(0.0, a.interval - (time.perf_counter() - t0 - samples[-1]["t"])))
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()
    report = {"command": cmd, "soak_argv": sys.argv[1:], "exit_code": proc.returncode, "machine": machine(),
              "minutes": a.minutes, "interval_s": a.interval, "warmup_s": a.warmup, "samples": samples}
    report["summary"] = summarise(samples, a.warmup)
    app_json = out / "app.json"
    if app_json.exists():
        d = json.loads(app_json.read_text())
        report["app"] = {k: d.get(k) for k in ("frames", "fps", "frames_dropped", "frames_captured", "latency_ms",
                                               "source", "render", "bundle")}
    return report


def summarise(samples: list[dict], warmup: float) -> dict:
    """Growth figures: RSS at the end of warm-up and at the end, slopes (MB/min), FPS, drops, fds."""
    n_all = len(samples)
    samples = [s for s in samples if s["procs"] and not s.get("final")]  # not once the app's run has ended
    if not samples:
        return {"samples": n_all}
    t = np.array([s["t"] for s in samples], np.float64)
    names = sorted({k for s in samples for k in s["procs"]})
    series = {"total": np.array([s["rss_total_mb"] for s in samples], np.float64)}
    for n in names:
        series[n] = np.array([s["procs"].get(n, {}).get("rss_mb", np.nan) for s in samples], np.float64)
    # the tracking window: from the first tracked frame (warm-up counts from there) to the last sample
    # whose frame count still rose (after it the app stops tracking)
    frames = [s.get("frames") or 0 for s in samples]
    started = [s["t"] for s in samples if s.get("frames")]
    t_start = started[0] if started else 0.0
    rising = [i for i in range(1, len(samples)) if frames[i] > frames[i - 1]]
    t_end = float(t[rising[-1]]) if rising else float(t[-1])
    live = t <= t_end
    after = live & (t >= min(t_start + warmup, t_end))
    half = live & (t >= (t_start + t_end) / 2)
    rss = {n: {"after_warmup_mb": float(y[after][0]) if np.isfinite(y[after][0]) else None,
               "end_mb": float(y[live][-1]) if np.isfinite(y[live][-1]) else None, "max_mb": float(np.nanmax(y)),
               "slope_after_warmup_mb_per_min": slope(t[after], y[after]),
               "slope_second_half_mb_per_min": slope(t[half], y[half])} for n, y in series.items()}
    fds = np.array([s["fds_total"] for s in samples])
    fps = [s["fps"] for s in samples[1:] if s.get("fps") is not None]
    last = next((s for s in reversed(samples) if s.get("frames") is not None), {})
    return {"samples": n_all, "seconds": float(t[-1]), "tracking_from_s": t_start, "tracking_to_s": t_end,
            "processes": names, "rss": rss, "fds_after_warmup": int(fds[after][0]), "fds_end": int(fds[live][-1]),
            "fds_max": int(fds.max()),
            "fps_mean": float(np.mean(fps)) if fps else None, "fps_min": float(np.min(fps)) if fps else None,
            "frames": last.get("frames"), "dropped": last.get("dropped"), "captured": last.get("captured")}


def machine() -> dict:
    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 2**20
    return {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(), "mem_gb": round(mem, 1),
            "python": platform.python_version(), "torch": version("torch"), "numpy": version("numpy"),
            "git": _git()}


def _git() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_outputs(report: dict, out: Path, title: str = "") -> None:
    """soak.json, soak.md and soak.png under ``out``."""
    from .soak_report import markdown, plot

    (out / "soak.json").write_text(json.dumps(report, indent=1))
    (out / "soak.md").write_text(markdown(report, title))
    plot(report, out / "soak.png", title)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, required=True, help="how long the app runs")
    p.add_argument("--source", required=True, metavar="SPEC", help="video:PATH (looped) | synthetic[:ROOM] | webcam")
    p.add_argument("--window", action="store_true", help="the real window (under xvfb-run without a display)")
    p.add_argument("--no-render", action="store_true", help="headless: skip overlay/avatar drawing")
    p.add_argument("--fast", action="store_true", help="headless video: track every frame as fast as possible")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds of start-up left out of the growth figures")
    p.add_argument("--grace", type=float, default=120.0, help="seconds past --minutes before the app is stopped")
    p.add_argument("--bundle", default=None, help="avatar bundle (default: the app's)")
    p.add_argument("--size", default=None, metavar="WxH", help="frame size of synthetic/webcam sources")
    p.add_argument("--fps", type=float, default=None, help="frame rate of synthetic/webcam sources")
    p.add_argument("--max-slope", type=float, default=None, metavar="MB_PER_MIN",
                   help="exit 1 when total RSS grows faster than this over the second half")
    p.add_argument("--title", default="", help="title of the markdown summary and the plot")
    p.add_argument("app_args", nargs="*", help="more app flags after --, e.g. -- --smoothing 0")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    report = run_soak(a)
    write_outputs(report, Path(a.out), a.title)
    s = report["summary"]
    tot = s.get("rss", {}).get("total", {})
    print(f"[soak] {s.get('seconds', 0):.0f} s, {s.get('samples')} samples, frames {s.get('frames')}, "
          f"FPS {s.get('fps_mean') or 0:.1f}, dropped {s.get('dropped')}; total RSS {tot.get('after_warmup_mb')} -> "
          f"{tot.get('end_mb')} MB, slope after warm-up {tot.get('slope_after_warmup_mb_per_min')} MB/min, "
          f"second half {tot.get('slope_second_half_mb_per_min')} MB/min; fds {s.get('fds_after_warmup')} -> "
          f"{s.get('fds_end')}; wrote {a.out}/soak.json, soak.md, soak.png")
    bad = a.max_slope is not None and (tot.get("slope_second_half_mb_per_min") or 0.0) > a.max_slope
    return 1 if bad or report["exit_code"] not in (0, None) else 0


if __name__ == "__main__":
    sys.exit(main())
