"""Reproduce the paper's Tables 1-3 and Fig. 10 on studio ground truth.

``python -m bench.paper_tables --profile lite --bundle PATH [--bundle PATH2 ...] --out DIR [--quick]``

Writes ``DIR/results.json``, ``DIR/tables.md`` and plots. Each ``--bundle`` is one person's
avatar (the DAM is person-specific; the person seed is read from the bundle's provenance or
given as ``PATH@SEED``). ``--quick`` computes every table on fewer frames and training steps.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from models import bundle as B
from models.adapt import AdaptConfig
from models.data import load_capture
from models.train import load_dam_checkpoint, require_encoder

from . import report
from .common import git_commit, machine, run_and_cache_dirs, write_json
from .table1 import table1
from .table23 import VARIANTS, ensure_lab, fig10, table2, table3, train_variant

TABLES = ("table1", "table2", "table3", "fig10")


def _person(bundle: B.AvatarBundle, spec: str) -> int:
    if "@" in spec:
        return int(spec.rsplit("@", 1)[1])
    prov = bundle.manifest.get("provenance", {})
    caps = prov.get("captures") or [{}]
    return int(prov.get("person", caps[0].get("person", 0)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.paper_tables", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="lite")
    p.add_argument("--bundle", action="append", required=True, help="avatar bundle (PATH or PATH@PERSON_SEED)")
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rooms", nargs="+", default=["tungsten", "office", "window", "evening", "rgb_desk"])
    p.add_argument("--detector", default="simulated",
                   help="landmark detector on studio clips: simulated (GT + detector-like noise) | dlib | studio")
    p.add_argument("--cache", default="runs/paper_cache", help="captures are rendered once and reused")
    p.add_argument("--frames", type=int, default=None, help="frames per wild clip (quick 40, full 240)")
    p.add_argument("--adapt-steps", type=int, default=None,
                   help=f"adaptation steps (quick 15, full {AdaptConfig().steps})")
    p.add_argument("--variant-steps", type=int, default=None, help="I2ZNet variant training steps (60 / 1500)")
    p.add_argument("--dam-checkpoint", default=None,
                   help="DAM training checkpoint (WORK/dam.pt) of the FIRST bundle: Table 2/3 train I2ZNet "
                        "variants, whose targets z_gt come from the DAM encoder E_X; needed only for a bundle "
                        "saved without E_X (the default avatar and models.train's bundles carry it)")
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES, help="what to compute (default: all)")
    p.add_argument("--heldout-frames", type=int, default=None, help="held-out lab frames (16 / 90)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.time()
    out, cache = run_and_cache_dirs(a.out, "paper_tables", a.cache)
    q = a.quick
    frames = a.frames or (40 if q else 240)
    bundles = {}
    for spec in a.bundle:
        b = B.load(spec.split("@")[0])
        if b.cfg.name != a.profile:
            raise SystemExit(f"bundle {spec} has profile {b.cfg.name}, --profile says {a.profile}")
        bundles[_person(b, spec)] = b
    adapt_cfg = AdaptConfig(steps=a.adapt_steps or (15 if q else AdaptConfig().steps))
    results: dict = {"machine": machine(), "quick": q, "git_commit": git_commit(), "profile": a.profile,
                     "bundles": a.bundle, "rooms": a.rooms, "persons": sorted(bundles),
                     "frames_per_clip": frames, "adapt_steps": adapt_cfg.steps, "detector": a.detector}
    person, bundle = next(iter(bundles.items()))
    if a.dam_checkpoint:
        load_dam_checkpoint(bundle, a.dam_checkpoint)
    variants = bool({"table2", "table3"} & set(a.tables))
    if variants:
        try:  # fail before any work: the variants train on codes from E_X
            require_encoder(bundle)
        except ValueError as e:
            raise SystemExit(f"{a.bundle[0]}: {e} (or leave table2/table3 out of --tables)") from None
    if "table1" in a.tables:
        results["table1"] = table1(bundles, a.rooms, frames, cache, a.detector, adapt_cfg, log=print)
    size = max(160, bundle.cfg.crop_size + 32)
    n_held = a.heldout_frames or (16 if q else 90)
    if variants:
        held = load_capture(ensure_lab(cache, person, n_held, 4, size, seed=10_000 + person))
        train_labs = [Path(c) for c in bundle.manifest.get("provenance", {}).get("trained_on", [])]
        train_labs = [c for c in train_labs if (c / "manifest.json").exists()] or [
            ensure_lab(cache, person, 24 if q else 300, 8, size, seed=person)]
        steps = a.variant_steps or (60 if q else 1500)
        nets = {name: train_variant(bundle, name, train_labs, steps, out / "variants") for name in VARIANTS}
        fr = np.arange(held.frames)
        results["table2"] = table2(bundle, nets, held, fr)
        results["table3"] = table3(bundle, nets, held, fr)
        results["variant_steps"] = steps
    if "fig10" in a.tables:
        hi = load_capture(ensure_lab(cache, person, max(4, n_held // 2) if q else 60, 1, 320, seed=20_000 + person))
        results["fig10"] = fig10(bundle, hi, np.arange(hi.frames))
    results["seconds"] = round(time.time() - t0, 1)
    write_json(out / "results.json", results)
    (out / "tables.md").write_text(report.tables_md(results))
    report.plots(results, out)
    print((out / "tables.md").read_text())
    print(f"written to {out} in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
