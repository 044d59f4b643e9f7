"""Shared helpers for benchmarks: machine description, run folders, JSON/markdown output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from models.topology import Topology, TopologyError, load_topology, make_test_mesh


def machine() -> dict:
    """Describe the machine a benchmark ran on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1], timeout=10).stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def run_dir(out: str | Path | None, name: str) -> Path:
    path = Path(out) if out else Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_and_cache_dirs(out: str | Path | None, name: str, cache: str | Path) -> tuple[Path, Path]:
    """The run folder (:func:`run_dir`) and the capture cache folder, both created."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    return run_dir(out, name), cache


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_default))
    tmp.replace(path)


def _default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def md_table(headers: list[str], rows: list[list]) -> str:
    def fmt(x):
        if isinstance(x, float):
            return f"{x:.4g}"
        return str(x)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def write_report(out: Path, title: str, data: dict, headers: list[str], rows: list[list]) -> None:
    """``out/results.json`` (data) and ``out/results.md`` (title, machine, one table); prints the table."""
    write_json(out / "results.json", data)
    md = md_table(headers, rows)
    (out / "results.md").write_text(f"# {title}\n\nMachine: {data['machine']}\n\n{md}\n")
    print(md)
    print(f"written to {out}")


def profile_topology(cfg, bench: str) -> tuple[Topology, str]:
    """The profile's mesh, or the generated test mesh when its asset is missing -> (topology, note)."""
    try:
        return load_topology(cfg.topology), ""
    except TopologyError as e:
        print(f"[{bench}] {e}; using the generated test mesh for {cfg.name}")
        return make_test_mesh(), "test mesh stand-in"


def times_ms(fn, repeat: int) -> list[float]:
    """Wall time of each of ``repeat`` calls of fn(), in ms."""
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(1e3 * (time.perf_counter() - t0))
    return ts


def timeit(fn, repeat: int = 20, warmup: int = 3) -> dict:
    """Median / p95 wall time of fn() in ms."""
    for _ in range(warmup):
        fn()
    ts = sorted(times_ms(fn, repeat))
    return {"p50_ms": ts[len(ts) // 2], "p95_ms": ts[min(len(ts) - 1, int(0.95 * len(ts)))], "n": repeat}
