"""Throughput of the render passes on this machine: ``python -m render.benchmark``.

Uses :func:`models.topology.make_test_mesh` with ``--grid 72`` (~10k triangles) and prints
one JSON line per measurement (milliseconds per call, calls per second).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from models.topology import make_test_mesh
from render.context import create_context
from render.face_renderer import FaceRenderer
from render.overlay import OverlayRenderer
from render.uv_lighting import Light, Lighting
from render.uv_shading import UVShader


def _time(fn: Callable[[], object], seconds: float) -> float:
    """Mean seconds per call after two warm-up calls, for at least ``seconds``."""
    fn()
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 5:
            return dt / n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--grid", type=int, default=72, help="test-mesh grid (72 -> 10082 triangles)")
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = ap.parse_args(argv)
    ctx = create_context()
    topo = make_test_mesh(args.grid)
    G = topo.vertices
    rng = np.random.default_rng(0)
    info = {"renderer": ctx.info["GL_RENDERER"], "cpu": platform.processor() or platform.machine(),
            "triangles": topo.n_faces, "vertices": topo.n_vertices}
    print(json.dumps(info))

    def report(name: str, sec: float, **extra: object) -> None:
        print(json.dumps({"pass": name, "ms": round(sec * 1e3, 2), "per_s": round(1.0 / sec, 1), **extra}))

    face = FaceRenderer(topo, ctx)
    tex = rng.random((3, 256, 256), dtype=np.float32)  # DAM-like channel-first float texture
    for S in (256, 512):
        H = np.array([S / 2.6, 0.1, 0.25, 0.05, S / 2, S / 2])
        bg = rng.integers(0, 256, (S, S, 3)).astype(np.uint8)
        for name, fn in (("face_full", face.render), ("face_rgb_only", face.render_rgb_only)):
            every = partial(fn, G, H, tex, (S, S), bg)
            report(name, _time(every, args.seconds), size=S, uploads="G + 256^2 float texture + background")
            report(name, _time(partial(fn, G, H, None, (S, S)), args.seconds), size=S, uploads="G")
    ov = OverlayRenderer(topo, ctx)
    img = np.zeros((512, 512, 3), np.uint8)
    H = np.array([512 / 2.6, 0.1, 0.25, 0.05, 256, 256])
    report("overlay_all", _time(lambda: ov.render(img, G, H, box=(40, 40, 420)), args.seconds), size=512)
    report("overlay_points", _time(lambda: ov.render(img, G, H, wireframe=False), args.seconds), size=512)

    uv = UVShader(topo, ctx, shadow_map_size=1024)
    lights = (Light((0.6, -0.4, -0.7), (1.0, 0.9, 0.8), 0.9), Light((-0.7, 0.1, -0.5), (0.3, 0.4, 0.9), 0.4))
    for T in (256, 1024):
        alb = rng.random((T, T, 3), dtype=np.float32)
        for shadows in (False, True):
            lit = Lighting(lights, shadows=shadows)
            report("uv_shading", _time(partial(uv.shade, G, alb, (0, 0, -1), lit), args.seconds),
                   texture=T, lights=len(lights), shadows=shadows)
    for o in (face, ov, uv):
        o.release()


if __name__ == "__main__":
    main()
