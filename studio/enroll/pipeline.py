"""The enrollment pipeline: clip -> personal avatar bundle, resumable and cancellable (issue 17).

Each stage leaves its result in the work folder (``OUT.work``) and is skipped when it is
already there, so ``--resume`` after a cancel, a crash or a quit continues where it stopped
(the training stages resume from their last checkpoint). The bundle is written into a
temporary sibling and renamed into place last: an interrupted run never leaves a half
bundle, and the other avatars are never touched.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch

from models import bundle as B
from models.files import replace_folder, save_npz, sha256

from .clip import EnrollClip, EnrollInputError, read_clip, rotation_coverage, yaw_range
from .lab import LabBudget, render_lab, train_personal

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "assets" / "default_avatar"
# share of the wall time per stage, measured on the 2-core CPU for a 20 s clip (docs/enrollment.md)
STAGES = (("landmarks", 0.04), ("fit", 0.06), ("unwrap", 0.01), ("lab", 0.12), ("train", 0.60),
          ("verify", 0.16), ("write", 0.01))
UNWRAP_FRAMES = 48  # frames blended into the texture (evenly spaced over the enrollment part)


@dataclass(frozen=True)
class EnrollRequest:
    video: Path
    out: Path
    name: str = "My avatar"
    budget_minutes: float = 10.0
    resume: bool = False
    device: str = "auto"
    default_bundle: Path = DEFAULT_BUNDLE
    budget: LabBudget | None = None  # explicit lab/training sizes (tests, experiments); else budget_minutes

    @property
    def work(self) -> Path:
        return self.out.with_name(self.out.name + ".work")


class Progress:
    """Overall progress over the weighted stages, with an ETA from the elapsed time."""

    def __init__(self, report=None) -> None:
        self.report = report
        self.t0 = time.time()
        self.messages: dict[str, str] = {}
        self.base = {}
        acc = 0.0
        for name, w in STAGES:
            self.base[name] = (acc, w)
            acc += w

    def __call__(self, stage: str, frac: float, message: str = "") -> None:
        a, w = self.base[stage]
        message = message or self.messages.get(stage, "")
        self.messages[stage] = message
        done = min(1.0, a + w * max(0.0, min(1.0, frac)))
        el = time.time() - self.t0
        eta = el * (1 - done) / done if done > 0.02 else None
        if self.report:
            self.report({"stage": stage, "done": round(done, 4), "eta_s": None if eta is None else round(eta, 1),
                         "message": message})


def budget_for(minutes: float) -> LabBudget:
    """Training steps scale with the budget (measured on a 2-core CPU: the default 10 min)."""
    k = max(0.25, min(4.0, minutes / 10.0))
    b = LabBudget()
    return replace(b, dam_steps=int(b.dam_steps * k), i2z_steps=int(b.i2z_steps * k))


def _check_out(req: EnrollRequest) -> None:
    if req.out.exists() and (req.out / "manifest.json").exists():
        raise EnrollInputError(f"{req.out} already holds an avatar; choose another name or delete that avatar first")
    if req.work.exists() and not req.resume:
        shutil.rmtree(req.work)
    try:
        req.work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EnrollInputError(f"cannot write to {req.work}: {e.strerror or e}") from e


def stage_fit(clip: EnrollClip, work: Path, topo, cancel, progress):
    """-> the fit, the rows of the clip it used, their geometry G (N, V, 3), the texture-agreement
    energies (from work/fit.npz when it is there)."""
    from .fit import FitResult, fit_landmarks, result_of
    from .fit_texture import refine_with_texture

    path = work / "fit.npz"
    sel = np.where(clip.usable & clip.train)[0]
    if path.exists():
        with np.load(path) as z:
            return FitResult.from_npz(z), sel, z["G"], json.loads(str(z["texture_fit"]))
    fit, person, poses = fit_landmarks(clip.landmarks[sel], topo, progress=lambda a, n: progress("fit", 0.3 * a / n),
                                       cancel=cancel)
    tex_info = refine_with_texture(clip.frames[sel], clip.landmarks[sel], person, poses, topo,
                                   progress=lambda a, n: progress("fit", 0.3 + 0.7 * a / n), cancel=cancel)
    fit = result_of(person, poses, clip.landmarks[sel], fit.history)
    with torch.no_grad():
        G = person.geometry(poses.w()).numpy().astype(np.float32)
    save_npz(path, G=G, texture_fit=json.dumps(tex_info), **fit.to_npz())
    return fit, sel, G, tex_info


def stage_unwrap(clip: EnrollClip, fit, sel, G, work: Path, topo, name: str, cancel=None):
    from .fit import neutral_geometry
    from .person import EnrolledPerson
    from .unwrap import unwrap

    path = work / "person.npz"
    if path.exists():
        return EnrolledPerson.load(path), None
    pick = np.linspace(0, len(sel) - 1, min(UNWRAP_FRAMES, len(sel))).round().astype(int)
    out = unwrap(clip.frames[sel[pick]], G[pick], fit.H[pick], topo, 256, cancel=cancel)
    person = EnrolledPerson(neutral_geometry(topo, fit), out["albedo"], out["skin"], name, alpha=fit.alpha)
    person.save(path)
    cv2.imwrite(str(work / "albedo.png"), np.clip(out["albedo"][..., ::-1] * 255 + 0.5, 0, 255).astype(np.uint8))
    return person, out


def _machine() -> str:
    return f"{platform.node()} {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def enroll(req: EnrollRequest, report=None, cancel=None) -> dict:
    """Run (or resume) an enrollment. Returns the report dict; raises EnrollInputError for bad
    input and KeyboardInterrupt when ``cancel()`` turned true."""
    from studio.head import template

    from .verify import verify

    if req.device == "cuda" and not torch.cuda.is_available():
        raise EnrollInputError("--device cuda was asked for but CUDA is not available; use --device cpu or auto")
    t0 = time.time()
    prog = Progress(report)
    req = replace(req, video=Path(req.video), out=Path(req.out))
    _check_out(req)
    work = req.work
    timings = json.loads((work / "timings.json").read_text()) if (work / "timings.json").exists() else {}

    def timed(name, t):
        timings[name] = round(timings.get(name, 0.0) + time.time() - t, 1)
        (work / "timings.json").write_text(json.dumps(timings))

    prog("landmarks", 0.0, "reading the clip and finding the face in every frame")
    t = time.time()
    clip_path = work / "clip.npz"
    if clip_path.exists():
        clip = EnrollClip.load(clip_path)
        if clip.sha256 != sha256(req.video):
            raise EnrollInputError(f"{req.video} is not the clip this unfinished enrollment started from; "
                                   "start a new enrollment instead of resuming")
    else:
        clip = read_clip(req.video, progress=lambda a, n: prog("landmarks", a / n), cancel=cancel)
        clip.save(clip_path)
        timed("landmarks", t)
    topo = template()
    prog("fit", 0.0, "fitting your face shape, head poses and expressions")
    t = time.time()
    fit, sel, G, tex_info = stage_fit(clip, work, topo, cancel, prog)
    timed("fit", t)
    prog("unwrap", 0.0, "unwrapping your face texture")
    t = time.time()
    person, _ = stage_unwrap(clip, fit, sel, G, work, topo, req.name, cancel)
    timed("unwrap", t)
    budget = req.budget or budget_for(req.budget_minutes)
    default = B.load(req.default_bundle)

    def polled(stage, lo, hi):
        def f(a, n):
            prog(stage, lo + (hi - lo) * a / n)
            if cancel and cancel():
                raise KeyboardInterrupt("cancelled")
        return f

    prog("lab", 0.0, "rendering your personal lab capture")
    t = time.time()
    lab = render_lab(person, work / "lab", budget, default.cfg.tex_size, progress=polled("lab", 0.0, 1.0))
    timed("lab", t)
    prog("train", 0.0, "training your face model")
    t = time.time()
    bundle, train_info = train_personal(req.default_bundle, lab, work / "train", budget,
                                        on_dam=polled("train", 0.05, 0.6), on_i2z=polled("train", 0.6, 1.0))
    timed("train", t)
    prog("verify", 0.0, "checking the avatar on the end of the clip it never saw")
    t = time.time()
    held, sheet = verify(bundle, default, clip, progress=lambda a, n: prog("verify", a / n), cancel=cancel)
    warnings = []
    weak = rotation_coverage(fit.H)
    if weak:
        warnings.append({"redo": list(weak), "message": f"the head turned little (yaw range {yaw_range(fit.H):.0f} "
                         "deg) to the " + " and ".join(
            r.split("_")[1] for r in weak) + ": that side of the face is filled from the mirror image; record "
            "again turning further for a better avatar"})
    timed("verify", t)
    prog("write", 0.0, "saving the avatar")
    report = {
        "name": req.name, "clip": str(req.video), "clip_sha256": clip.sha256, "frames": int(clip.total_frames),
        "frames_analysed": int(len(clip.index)), "frames_enrolled": int(len(sel)),
        "frames_held_back": int((clip.held & clip.usable).sum()), "fps": clip.fps,
        "fit": {"nme_median": float(np.median(fit.residual)), "nme_p90": float(np.percentile(fit.residual, 90)),
                "texture_agreement": tex_info,
                "yaw_range_deg": [float(np.degrees(fit.H[:, 2]).min()), float(np.degrees(fit.H[:, 2]).max())],
                "yaw_range_p2_p98_deg": yaw_range(fit.H)},
        "training": {**{k: v for k, v in train_info.items() if k != "lab"}, "budget": asdict(budget)},
        "held_back": held, "warnings": warnings, "timings_s": timings, "machine": _machine(),
        # the lab, training and verification run on the CPU (a CUDA path is not written yet)
        "device": "cpu",
    }
    report["seconds"] = round(sum(timings.values()), 1)  # every stage once, over resumed runs too
    report["wall_seconds_this_run"] = round(time.time() - t0, 1)  # this process (reused stages are free)
    _write_bundle(bundle, req, report, sheet, train_info)
    shutil.rmtree(work, ignore_errors=True)  # the avatar is complete: nothing is left to resume
    prog("write", 1.0, "done")
    return report


def _write_bundle(bundle: B.AvatarBundle, req: EnrollRequest, report: dict, sheet: np.ndarray, info: dict) -> None:
    tmp = req.out.with_name("." + req.out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    prov = {"enrolled": {k: report[k] for k in ("name", "clip_sha256", "frames", "frames_enrolled", "fit",
                                                "timings_s", "machine")},
            "person": f"enrolled:{req.name}", "warm_start": str(req.default_bundle),
            "training": report["training"], "lab": info.get("lab")}
    try:
        B.save(bundle, tmp, provenance=prov, include_encoder=True,
               dtype="float16" if bundle.cfg.name == "lite" else "float32")
        shutil.copy2(req.work / "person.npz", tmp / "person.npz")
        cv2.imwrite(str(tmp / "contact_sheet.png"), sheet)
        (tmp / "enroll_report.json").write_text(json.dumps(report, indent=2, default=float))
        replace_folder(tmp, req.out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EnrollInputError(f"could not save the avatar to {req.out}: {e.strerror or e} (the work folder "
                               f"{req.work} is kept: free some space and run again with --resume)") from e


__all__ = ["EnrollRequest", "enroll", "budget_for", "STAGES"]
