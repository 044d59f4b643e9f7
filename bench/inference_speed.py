"""Per-frame network speed per CPU inference backend, side by side in one run (issue 16 item 2).

``python -m bench.inference_speed [--bundle models/assets/default_avatar] [--rounds 5] [--iters 10]
[--compile] [--out DIR]``

Networks: E_I (``encoder``), D's geometry branch (``geometry``), D's texture branch + C + clamp
(``texture``; for eager this is today's ``dam.decoder`` call, which also runs the geometry MLP) and the
end-to-end per frame E_I + D + C (``frame``: :meth:`models.tracker.Tracker.infer` with the texture,
``frame_geo``: the geometry-only decode of frames that reuse the texture). Backends: torch eager
(today: ``no_grad``, 1 thread as the app's tracking thread), eager with 2 threads, eager under
``inference_mode``, eager channels-last, TorchScript (trace + freeze + optimize_for_inference; all three
graphs, and ``script-enc``: the encoder only), ``torch.compile`` (``--compile``; inductor compiles for
about a minute per graph on 2 cores), ONNX Runtime (all three graphs with 1 and 2 threads, and
``onnx-enc``: the encoder only), OpenVINO from the same ONNX graphs (when installed). The variants are
measured interleaved: every round runs every
variant (in a rotated order) on every network, so a change of the machine's load hits them all;
ratios are eager's p50 over the variant's p50, per round, and the median over rounds is reported.
Also: the agreement of every variant with eager on the same inputs, and the time a weight swap takes
to reach the fast graphs (rebuild of the encoder graph). Writes results.json, results.md, speed.png.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from models import bundle as B
from models import fast_infer as FI
from models.camera import view_direction

from .common import git_commit, machine, md_table, run_dir, times_ms, write_json

NETS = ("encoder", "geometry", "texture", "frame", "frame_geo")


def _inputs(b, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    S = b.cfg.crop_size
    # the tracker's crops come from a permuted numpy HWC image (channels-last strides)
    x = torch.rand(1, S, S, 3, generator=g).permute(0, 3, 1, 2)
    K = torch.rand(1, 68, 2, generator=g) * 0.6 * S + 0.2 * S
    with torch.no_grad():
        z, H = b.i2znet(x, K)[:2]
    return x, K, z, view_direction(H)


def _eager(b, x, K, z, view, mode: str = "no_grad"):
    ctx = torch.inference_mode if mode == "inference_mode" else torch.no_grad
    ref = FI.FastInfer(b, "torch")

    def wrap(fn):
        def run():
            with ctx():
                return fn()
        return run

    def texture():
        _, T = b.dam.decoder(z, view)
        return b.color(T).clamp(0.0, 1.0)

    return {"encoder": wrap(lambda: b.i2znet(x, K, return_expr=True)),
            "geometry": wrap(lambda: b.dam.decode_geometry(z)),
            "texture": wrap(texture),
            "frame": wrap(lambda: ref.infer(x, K, texture=True)),
            "frame_geo": wrap(lambda: ref.infer(x, K, texture=False))}


def _channels_last(b, x, K, z, view):
    b2 = copy.copy(b)
    b2.i2znet = copy.deepcopy(b.i2znet).to(memory_format=torch.channels_last)
    b2.dam = copy.deepcopy(b.dam).to(memory_format=torch.channels_last)
    b2.color = copy.deepcopy(b.color).to(memory_format=torch.channels_last)
    return _eager(b2, x.contiguous(memory_format=torch.channels_last), K, z, view)


def _fast(b, backend: str, threads: int, x, K, z, view, networks=FI.NETWORKS):
    f = FI.FastInfer(b, backend, threads=threads, rebuild="sync", networks=networks)
    if not f.prepare():
        raise RuntimeError("; ".join(f.errors) or "graphs not built")

    def texture():
        return f.texture(z, view)

    def ng(fn):
        def run():
            with torch.no_grad():
                return fn()
        return run

    return {"encoder": ng(lambda: f.encode(x, K)), "geometry": ng(lambda: f.geometry(z)), "texture": ng(texture),
            "frame": lambda: f.infer(x, K, texture=True), "frame_geo": lambda: f.infer(x, K, texture=False)}, f


def _openvino(b, threads: int, x, K, z, view):
    import openvino as ov

    core = ov.Core()
    f = FI.FastInfer(b, "torch")
    cfg = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    nets = {}
    with tempfile.TemporaryDirectory() as d:
        for name in ("encoder", "geometry", "texture"):
            mod, args, names_in, names_out = f._example(name)
            path = Path(d) / f"{name}.onnx"
            path.write_bytes(FI.export_onnx(copy.deepcopy(mod).eval(), args, names_in, names_out))
            req = core.compile_model(str(path), "CPU", cfg).create_infer_request()
            nets[name] = (req, names_in)

    def run(name, *args):
        req, names_in = nets[name]
        res = req.infer({n: FI._np(a) for n, a in zip(names_in, args)})
        return [torch.from_numpy(np.array(v)) for v in res.values()]

    c = b.color.conv
    M, bias = c.weight[:, :, 0, 0].detach(), c.bias.detach()

    def frame(texture=True):
        with torch.no_grad():
            zz, HH = run("encoder", x, K)[:2]
            G = run("geometry", zz)[0]
            T = run("texture", zz, view_direction(HH), M, bias)[0] if texture else None
            return zz, HH, G, T

    return {"encoder": lambda: run("encoder", x, K), "geometry": lambda: run("geometry", z),
            "texture": lambda: run("texture", z, view, M, bias)[0],
            "frame": lambda: frame(True), "frame_geo": lambda: frame(False)}


def _compiled(b, x, K, z, view):
    enc = torch.compile(b.i2znet)
    geo = torch.compile(b.dam.decode_geometry)
    tex_mod = torch.compile(FI._Texture(b.dam))
    c = b.color.conv
    M, bias = c.weight[:, :, 0, 0].detach(), c.bias.detach()

    def frame(texture=True):
        with torch.no_grad():
            zz, HH = enc(x, K)[:2]
            G = geo(zz)
            T = tex_mod(zz, view_direction(HH), M, bias) if texture else None
            return zz, HH, G, T

    return {"encoder": lambda: enc(x, K), "geometry": lambda: geo(z), "texture": lambda: tex_mod(z, view, M, bias),
            "frame": lambda: frame(True), "frame_geo": lambda: frame(False)}


def _outputs(fns) -> dict:
    """z, H, G, C(T) of one frame."""
    with torch.no_grad():
        out = fns["frame"]()
    z, H, G, T = out[:4]
    return {"z": z, "H": H, "G": G, "T": T}


def _change_encoder(b, i: int):
    """Give the bundle a copy of its encoder with head_z's bias moved (a calibration's swap);
    returns the original, to put back."""
    i2z = copy.deepcopy(b.i2znet)
    with torch.no_grad():
        i2z.head_z[-1].bias.add_(1e-3 * (i + 1))
    old, b.i2znet = b.i2znet, i2z
    return old


def _swap_time(b, backend: str, threads: int, reps: int = 3) -> dict:
    """Seconds from changed encoder weights to a rebuilt fast encoder graph (sync rebuild)."""
    f = FI.FastInfer(b, backend, threads=threads, rebuild="sync")
    f.prepare()
    ts, keys = [], []
    for i in range(reps):
        old = _change_encoder(b, i)
        t0 = time.perf_counter()
        f._runner("encoder")
        ts.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        for _ in range(100):
            FI._key(b.i2znet)
        keys.append((time.perf_counter() - t1) * 1e4)  # us per key
        b.i2znet = old
    # the same swap while frames keep coming: torch serves them until the background rebuild is done
    x, K = _inputs(b)[:2]
    g = FI.FastInfer(b, backend, threads=threads)
    g.prepare()
    live = []
    for i in range(reps):
        old = _change_encoder(b, i)
        t0 = time.perf_counter()
        g.weights_changed()
        frames = []
        while True:
            t1 = time.perf_counter()
            g.infer(x, K)
            frames.append(1e3 * (time.perf_counter() - t1))
            if g.served_by["encoder"] == backend:
                break
        live.append({"s_to_fast": time.perf_counter() - t0, "torch_frames": len(frames) - 1,
                     "frame_p50_ms_meanwhile": statistics.median(frames[:-1] or frames)})
        b.i2znet = old
    return {"rebuild_s": ts, "rebuild_p50_s": statistics.median(ts), "key_us": statistics.median(keys),
            "while_tracking": live}


def measure(bundle_path: str, rounds: int, iters: int, use_compile: bool) -> dict:
    torch.manual_seed(0)
    b = B.load(bundle_path)
    for m in (b.i2znet, b.dam, b.color):
        m.eval()
    x, K, z, view = _inputs(b)
    torch.set_num_threads(1)
    variants: dict[str, dict] = {}
    threads: dict[str, int] = {}
    skipped: dict[str, str] = {}
    setup_s: dict[str, float] = {}

    def add(name, thr, make):
        t0 = time.perf_counter()
        try:
            fns = make()
            if isinstance(fns, tuple):
                fns = fns[0]
            fns["frame"]()  # first run (specialisation, lazy init)
            variants[name], threads[name] = fns, thr
            setup_s[name] = time.perf_counter() - t0
        except Exception as e:
            skipped[name] = f"{type(e).__name__}: {str(e)[:300]}"
            print(f"[inference_speed] {name} skipped: {skipped[name]}")

    add("eager", 1, lambda: _eager(b, x, K, z, view))
    add("eager-2t", 2, lambda: _eager(b, x, K, z, view))
    add("inference_mode", 1, lambda: _eager(b, x, K, z, view, "inference_mode"))
    add("channels_last", 1, lambda: _channels_last(b, x, K, z, view))
    add("script", 1, lambda: _fast(b, "script", 1, x, K, z, view))
    add("script-enc", 1, lambda: _fast(b, "script", 1, x, K, z, view, FI.DEFAULT_NETWORKS["script"]))
    if use_compile:
        add("compile", 1, lambda: _compiled(b, x, K, z, view))
    else:
        skipped["compile"] = "not asked for (--compile): inductor compiles for minutes on this 2-core CPU"
    if FI.onnxruntime_available():
        add("onnx", 1, lambda: _fast(b, "onnx", 1, x, K, z, view))
        add("onnx-2t", 2, lambda: _fast(b, "onnx", 2, x, K, z, view))
        add("onnx-enc", 1, lambda: _fast(b, "onnx", 1, x, K, z, view, FI.DEFAULT_NETWORKS["onnx"]))
    else:
        skipped["onnx"] = "onnxruntime not installed"
    try:
        import openvino  # noqa: F401

        add("openvino", 1, lambda: _openvino(b, 1, x, K, z, view))
    except ImportError:
        skipped["openvino"] = "openvino not installed"

    ref = _outputs(variants["eager"])
    agreement = {}
    for name, fns in variants.items():
        out = _outputs(fns)
        agreement[name] = {k: float((out[k].float() - ref[k].float()).abs().max()) for k in ref}

    samples = {v: {n: [] for n in NETS} for v in variants}
    per_round = {v: {n: [] for n in NETS} for v in variants}
    names = list(variants)
    load = [os.getloadavg()[0]]
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for v in order:
            torch.set_num_threads(threads[v] if v.startswith("eager") else 1)
            for n in NETS:
                fn = variants[v][n]
                fn()
                ts = times_ms(fn, iters)
                samples[v][n] += ts
                per_round[v][n].append(statistics.median(ts))
        load.append(os.getloadavg()[0])
        print(f"[inference_speed] round {r + 1}/{rounds}, load {load[-1]:.2f}", flush=True)
    torch.set_num_threads(1)

    def pct(a, q):
        a = sorted(a)
        return a[min(len(a) - 1, int(q * len(a)))]

    stats = {v: {n: {"p50_ms": statistics.median(samples[v][n]), "p95_ms": pct(samples[v][n], 0.95),
                     "n": len(samples[v][n]),
                     "speedup_vs_eager": statistics.median(
                         e / s for e, s in zip(per_round["eager"][n], per_round[v][n]))}
                 for n in NETS} for v in variants}
    swap = {}
    for be in ("onnx", "script"):
        if be in variants:
            swap[be] = _swap_time(b, be, 1)
    return {"bundle": str(bundle_path), "profile": b.cfg.name, "rounds": rounds, "iters": iters,
            "variants": list(variants), "threads": threads, "skipped": skipped, "setup_s": setup_s,
            "stats": stats, "agreement_vs_eager": agreement, "swap": swap, "load_avg_1min": load,
            "tolerance": FI.TOLERANCE, "shipped_auto": FI.resolve_backend("auto")[0],
            "versions": _versions()}


def _versions() -> dict:
    out = {"torch": torch.__version__}
    for mod in ("onnxruntime", "onnx", "openvino"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            out[mod] = None
    return out


def _plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vs = data["variants"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    w = 0.8 / len(vs)
    for i, v in enumerate(vs):
        p50 = [data["stats"][v][n]["p50_ms"] for n in NETS]
        sp = [data["stats"][v][n]["speedup_vs_eager"] for n in NETS]
        xs = np.arange(len(NETS)) + (i - len(vs) / 2 + 0.5) * w
        axes[0].bar(xs, p50, w, label=v)
        axes[1].bar(xs, sp, w, label=v)
    for ax, t in zip(axes, ("p50 ms (log)", "speed-up vs eager (x, per-round median)")):
        ax.set_xticks(np.arange(len(NETS)), NETS)
        ax.set_title(t)
    axes[0].set_yscale("log")
    axes[1].axhline(1.0, color="k", lw=0.8)
    axes[1].legend(fontsize=7, ncol=2)
    m = data["machine"]
    la = data["load_avg_1min"]
    fig.suptitle(f"{data['profile']} per-frame networks, {m['cpu']} ({m['cores']} cores), "
                 f"load {min(la):.1f}-{max(la):.1f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(data: dict, out: Path) -> str:
    rows = []
    for v in data["variants"]:
        s = data["stats"][v]
        rows.append([v] + [f"{s[n]['p50_ms']:.2f} / {s[n]['p95_ms']:.2f}" for n in NETS]
                    + [f"{s['frame']['speedup_vs_eager']:.2f}x", f"{s['frame_geo']['speedup_vs_eager']:.2f}x"])
    t1 = md_table(["backend"] + [f"{n} p50/p95 ms" for n in NETS] + ["frame vs eager", "frame_geo vs eager"], rows)
    rows2 = [[v] + [f"{data['stats'][v][n]['speedup_vs_eager']:.2f}" for n in NETS] for v in data["variants"]]
    t2 = md_table(["backend"] + list(NETS), rows2)
    rows3 = [[v] + [f"{a[k]:.2e}" for k in ("z", "H", "G", "T")] for v, a in data["agreement_vs_eager"].items()]
    t3 = md_table(["backend", "max |dz|", "max |dH|", "max |dG|", "max |dC(T)|"], rows3)
    swap = "\n".join(f"- {be}: encoder graph rebuilt in {s['rebuild_p50_s']:.2f} s (p50 of {len(s['rebuild_s'])}: "
                     f"{', '.join(f'{x:.2f}' for x in s['rebuild_s'])}); "
                     f"weight-change check {s['key_us']:.0f} us/frame; "
                     "while frames keep coming: " + "; ".join(
                         f"{w['s_to_fast']:.2f} s to the fast graph, {w['torch_frames']} frames served by torch "
                         f"(p50 {w['frame_p50_ms_meanwhile']:.1f} ms)" for w in s["while_tracking"])
                     for be, s in data["swap"].items())
    skipped = "\n".join(f"- {k}: {v}" for k, v in data["skipped"].items()) or "- none"
    la = data["load_avg_1min"]
    la_s = ", ".join(f"{x:.2f}" for x in la)
    md = (f"# Inference speed per backend ({data['profile']}, {data['bundle']})\n\n"
          f"Machine: {data['machine']}\n\nVersions: {data['versions']}; commit {data['commit']}\n\n"
          f"1-min load average during the run: {min(la):.2f}-{max(la):.2f} (samples {la_s}); "
          f"{data['rounds']} interleaved rounds x {data['iters']} iterations per network per variant.\n\n"
          f"## p50 / p95 per network (ms)\n\n{t1}\n\n## Speed-up vs eager (median of per-round ratios)\n\n{t2}\n\n"
          f"## Agreement with eager (same inputs)\n\n{t3}\n\nTolerance of the shipped path: {data['tolerance']}\n\n"
          f"## Weight swap to the fast path\n\n{swap}\n\n## Skipped\n\n{skipped}\n")
    (out / "results.md").write_text(md)
    return md


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inference_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default=str(B.DEFAULT_BUNDLE))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--compile", action="store_true", help="also torch.compile (inductor; minutes to compile)")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = run_dir(a.out, "inference_speed")
    t0 = time.perf_counter()
    data = measure(a.bundle, a.rounds, a.iters, a.compile)
    data.update(machine=machine(), commit=git_commit(), wall_s=time.perf_counter() - t0,
                command="python -m bench.inference_speed " + " ".join(argv if argv is not None else sys.argv[1:]))
    write_json(out / "results.json", data)
    print(report(data, out))
    _plot(data, out / "speed.png")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
