"""``python -m studio capture ...``: lab and wild captures from the command line."""

from __future__ import annotations

import argparse
import sys

from .cli import register


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["lab", "wild", "perturb", "sweep"], required=True,
                   help="lab | wild | perturb (a Table 3 set: lab views + --perturbation) | sweep (Fig. 10 crops)")
    p.add_argument("--perturbation", default=None, help="perturb: view, color, light, jitter or background")
    p.add_argument("--person", type=int, default=0, help="person seed (identity shape and skin)")
    p.add_argument("--views", type=int, default=8, help="lab: number of synchronised views")
    p.add_argument("--room", default=None, help="wild: room name (tungsten, office, window, evening, rgb_desk)")
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--out", required=True, help="output folder (written atomically)")
    p.add_argument("--size", type=int, default=None, help="lab image size (default 160) / wild width (384)")
    p.add_argument("--tex-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=None, help="performance seed (default: from the person)")
    p.add_argument("--performance", default="mixed", help="performance kind")
    p.add_argument("--accessories", action="store_true",
                   help="lab / wild: draw the person's eyeglasses, facial hair and makeup where the seed has them "
                        "(studio.glasses, studio.grooming)")


def _run(a: argparse.Namespace) -> int:
    from .capture import CaptureInputError, capture_lab, capture_wild
    from .rooms import WILD_ROOMS

    def progress(i: int, n: int) -> None:
        if i == n or i % max(1, n // 20) == 0:
            print(f"\r[capture] {i}/{n} frames", end="" if i < n else "\n", file=sys.stderr, flush=True)

    try:
        if a.frames <= 0:
            raise CaptureInputError(f"--frames must be positive, got {a.frames}")
        if a.kind in ("perturb", "sweep"):
            from . import perturb

            if a.kind == "perturb" and a.perturbation not in perturb.PERTURBATIONS:
                raise CaptureInputError(f"--perturbation must be one of {', '.join(perturb.PERTURBATIONS)}")
            views = a.views if a.kind == "perturb" and a.perturbation == "view" else 1
            size = a.size or (320 if a.kind == "sweep" else 160)
            tmp_out = capture_lab(a.person, views, a.frames, a.out, size=size, tex_size=a.tex_size,
                                  seed=a.seed, kind=a.performance, progress=progress)
            if a.kind == "perturb":
                perturb.perturb_capture(tmp_out, a.perturbation, seed=a.seed or 0)
            else:
                perturb.resolution_sweep(tmp_out)
            out = tmp_out
        elif a.kind == "lab":
            out = capture_lab(a.person, a.views, a.frames, a.out, size=a.size or 160, tex_size=a.tex_size,
                              seed=a.seed, kind=a.performance, progress=progress, accessories=a.accessories)
        else:
            if a.room is None:
                raise CaptureInputError(f"--room is required for wild captures: one of {', '.join(WILD_ROOMS)}")
            w = a.size or 384
            out = capture_wild(a.person, a.room, a.frames, a.out, size=(w, w * 3 // 4), tex_size=a.tex_size,
                               seed=a.seed, kind=a.performance, progress=progress, accessories=a.accessories)
    except (CaptureInputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # e.g. no EGL
        from render.errors import RenderError

        if isinstance(e, RenderError):
            print(f"error: cannot render: {e}", file=sys.stderr)
            return 3
        raise
    print(f"capture written to {out}")
    return 0


register("capture", "render a lab (multi-view) or wild (one camera, a room) capture with ground truth", _args, _run)
