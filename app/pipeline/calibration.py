"""Calibrate to this room, minus the GUI: adapt on a recording, hot-swap, save a room profile.

:func:`calibrate` runs :func:`models.adapt.adapt` on copies of the live encoder and colour
correction (the live tracker keeps running meanwhile), and only when the verdict is
"accepted": saves the room profile (atomic) and swaps the adapted weights into the tracker
(``Tracker.load_adapted`` is atomic between two frames). Cancelled or failed runs leave the
live model and the profile folder untouched.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from models.adapt import AdaptConfig, Recording, adapt, loss_tex_size
from models.tracker import Tracker

from .bundles import bundle_fingerprint
from .defaults import CALIB_STEPS
from .packets import CalibOutcome, CalibProgress
from .profiles import ProfileError, ProfileStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationPlan:
    """What the user asked for: recording length, adaptation steps, profile name (None = automatic)."""

    seconds: float = 10.0
    steps: int = CALIB_STEPS
    profile_name: str | None = None
    room: str = ""  # a hint for the automatic profile name (e.g. the source)
    overrides: tuple[tuple[str, object], ...] = ()  # other AdaptConfig fields, e.g. (("lr", 1e-4),)
    threads: int = 1  # torch intra-op threads of the calibration thread (tracking keeps its own)
    nice: int = 10  # lower the calibration thread's CPU priority (Linux) so tracking and the GUI come first

    def adapt_config(self) -> AdaptConfig:
        return replace(AdaptConfig(), steps=int(self.steps), **dict(self.overrides))


def warm_up(tracker: Tracker | None = None) -> float:
    """Run one tiny optimiser step so that torch's lazy imports (the first Adam step pulls in
    ~800 modules: torch._dynamo, sympy, ...) happen now and not in the middle of a calibration,
    where they held the GIL and stalled the GUI for up to 150 ms (measured); and build the
    avatar's texel map (cached on its topology) that the adaptation needs. -> seconds taken"""
    t0 = time.perf_counter()
    if tracker is not None:
        tracker.bundle.topology.texel_map(loss_tex_size(AdaptConfig(), tracker.cfg))
    m = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam([{"params": m.parameters(), "lr": 1e-3}])
    loss = m(torch.rand(3, 2)).pow(2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(m.parameters()), 1.0)
    opt.step()
    return time.perf_counter() - t0


def freeze_heap() -> None:
    """Move every object alive now (modules, models, Qt wrappers: ~350k) out of the garbage
    collector's reach. A full collection otherwise scans them all and held the GIL for ~180 ms
    (measured), which stalled the GUI and the tracker whenever the adaptation's garbage
    triggered one. Call it after start-up (and after a warm-up)."""
    gc.collect()
    gc.freeze()


def default_profile_name(room: str = "") -> str:
    return f"{room or 'Room'} {time.strftime('%Y-%m-%d %H:%M')}"


def calibrate(tracker: Tracker, recording: Recording, plan: CalibrationPlan, store: ProfileStore | None,
              progress: Callable[[CalibProgress], None] | None = None, cancel: threading.Event | None = None,
              fingerprint: str | None = None, runner=None) -> CalibOutcome:
    """Adapt, and on acceptance save the profile and hot-swap the tracker's weights.

    ``runner``: an :class:`app.pipeline.adapt_process.AdaptProcess` to adapt in (the app's default: no
    GIL shared with the GUI and the tracker), or None to adapt in the calling thread.
    """
    t0 = time.perf_counter()
    if runner is None:
        torch.set_num_threads(max(1, plan.threads))
        _background_priority(plan.nice)
    n, n_valid = len(recording), int(recording.valid.sum()) if len(recording) else 0
    if n_valid < 4:
        return CalibOutcome("kept the current model", f"only {n_valid} of {n} recorded frames had a face; "
                            "face the camera and calibrate again", frames=n, valid_frames=n_valid)
    b = tracker.bundle
    i2z, color = b.i2znet, b.color  # references: the live tracker may swap them, these stay valid

    def on_step(step: int, steps: int, info: dict) -> None:
        if progress is not None:
            losses = {k: v for k, v in info.items() if k not in ("elapsed", "remaining")}
            progress(CalibProgress(step, steps, float(info.get("elapsed", 0.0)), float(info.get("remaining", 0.0)),
                                   losses))

    is_cancelled = (lambda: cancel.is_set()) if cancel is not None else None
    adapt_fn = adapt if runner is None else runner.adapt
    result = adapt_fn(i2z, color, b.dam, b.topology, recording, plan.adapt_config(), on_step, is_cancelled)
    seconds = time.perf_counter() - t0
    out = CalibOutcome(result.verdict, result.reason, result.accepted, _clean(result.before), _clean(result.after),
                       seconds, n, n_valid)
    if not result.accepted or result.weights is None:
        return out
    if cancel is not None and cancel.is_set():  # cancelled after the last step: still leave everything alone
        return replace(out, verdict="cancelled", accepted=False, reason="cancelled; the live model is unchanged")
    name = plan.profile_name or default_profile_name(plan.room)
    saved, save_error = None, ""
    if store is not None:
        try:
            name = store.unique_name(name) if plan.profile_name is None else name
            fp = fingerprint or bundle_fingerprint(b)
            saved = store.save(name, result.weights, fp, {"calibration": out.summary(), "room": plan.room}).name
        except (OSError, ProfileError) as e:
            save_error = f"the adapted model is in use but could not be saved as a profile: {e}"
            log.error(save_error)
    tracker.load_adapted(result.weights)  # atomic, between two frames
    return replace(out, profile=saved, save_error=save_error)


def _background_priority(nice: int) -> None:
    """Renice the calling thread (Linux threads have their own nice value); no-op elsewhere."""
    if nice <= 0 or not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
    except OSError as e:
        log.info("could not lower the calibration thread's priority: %s", e)


def _clean(d: dict) -> dict:
    return {k: (float(v) if isinstance(v, (int, float)) and math.isfinite(float(v)) else None) for k, v in d.items()}
