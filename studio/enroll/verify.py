"""Check a personal avatar on the held-back end of its clip before offering it (issue 17, item 5).

Both the personal avatar and the default avatar track the same held-back frames (every analysed
frame of the last ``HOLD_BACK`` of the clip, never used for fitting or training). For each
frame the tracked avatar is rendered into the real frame and compared inside the face
(:mod:`studio.enroll.metrics`: colour-corrected masked PSNR / SSIM), its projected landmarks
against the clip's per-frame dlib points (NME51), and the composite's dlib face descriptor
against the real frame's (identity distance, :mod:`models.face_identity`). The expression
signals of the expression-fidelity benchmark (Pearson r of eyes / mouth / brows against the
detector, :func:`models.face_signals.expression_agreement`) are reported too.
"""

from __future__ import annotations

import numpy as np

from models import bundle as B
from models.face_identity import FaceDescriptor
from models.face_signals import INNER51, expression_agreement, nme
from models.tracker import Tracker

from .clip import EnrollClip
from .metrics import colour_correct, contact_sheet, crop_around, face_mask, masked_psnr, masked_ssim

SHEET_ROWS = 4


def track_and_render(bundle: B.AvatarBundle, frames_rgb: np.ndarray, times: np.ndarray, cancel=None):
    """Track RGB frames (N, h, w, 3); yield (i, FrameResult, composite RGB or None, render mask)."""
    from render.face_renderer import FaceRenderer

    tracker = Tracker(bundle, device="cpu")
    renderer = FaceRenderer(bundle.topology)
    try:
        for i, (rgb, ts) in enumerate(zip(frames_rgb, times)):
            if cancel and cancel():
                raise KeyboardInterrupt("cancelled")
            bgr = np.ascontiguousarray(rgb[..., ::-1])
            r = tracker.track(bgr, float(ts))
            if not r.found:
                yield i, r, None, None
                continue
            h, w = rgb.shape[:2]
            res = renderer.render(r.G, r.H_frame, r.texture, (w, h), rgb)
            yield i, r, res.rgb, res.mask
    finally:
        renderer.release()


def score_bundle(bundle: B.AvatarBundle, clip: EnrollClip, rows: np.ndarray, descriptor: FaceDescriptor,
                 real_desc: dict, progress=None, cancel=None) -> tuple[dict, dict]:
    """Metrics of one bundle on clip frames ``rows``. -> (summary, composites by row)."""
    frames, ref = clip.frames[rows], clip.landmarks[rows]
    times = clip.index[rows] / clip.fps
    psnr, ssim, ident, pred, out = [], [], [], np.full_like(ref, np.nan), np.full_like(ref, np.nan)
    composites = {}
    for i, r, comp, rmask in track_and_render(bundle, frames, times, cancel):
        if progress:
            progress(i + 1, len(rows))
        if comp is None:
            continue
        # the avatar's own landmarks (what is rendered); out: the tracker's reported ones, with the
        # per-person corrective of models.landmark_identity that moves them onto the user's features
        pred[i] = r.model_landmarks if r.model_landmarks is not None else r.landmarks
        out[i] = r.landmarks
        mask = face_mask(ref[i], comp.shape[:2], rmask)
        if mask.sum() < 50:
            continue
        fixed = comp.copy()
        fixed[mask] = colour_correct(comp, frames[i], mask)[mask]
        psnr.append(masked_psnr(fixed, frames[i], mask))
        ssim.append(masked_ssim(fixed, frames[i], mask))
        composites[int(rows[i])] = fixed
        if int(rows[i]) in real_desc:
            d = descriptor.describe(np.ascontiguousarray(fixed[..., ::-1]), ref[i])
            ident.append(descriptor.distance(d, real_desc[int(rows[i])]))
    found = np.isfinite(pred[:, 0, 0])
    e = nme(pred[found], ref[found], INNER51) if found.any() else np.array([np.nan])
    e_out = nme(out[found], ref[found], INNER51) if found.any() else np.array([np.nan])
    agree = expression_agreement(pred, ref)
    summary = {
        "frames": int(len(rows)), "tracked": int(found.sum()),
        "psnr_face": float(np.median(psnr)) if psnr else float("nan"),
        "ssim_face": float(np.median(ssim)) if ssim else float("nan"),
        "identity_distance_median": float(np.median(ident)) if ident else float("nan"),
        "nme51_vs_detector": float(np.nanmean(e)),
        "nme51_tracker_output_vs_detector": float(np.nanmean(e_out)),
        "expression_r": agree,
    }
    return summary, composites


def verify(personal: B.AvatarBundle, default: B.AvatarBundle, clip: EnrollClip, progress=None,
           cancel=None) -> tuple[dict, np.ndarray]:
    """The ``held_back`` section of enroll_report.json and the contact sheet (BGR uint8)."""
    rows = np.where(clip.held & clip.usable)[0]
    if len(rows) == 0:
        raise ValueError("no held-back frame has a detected face")
    descriptor = FaceDescriptor()
    real_desc = {int(r): descriptor.describe(np.ascontiguousarray(clip.frames[r][..., ::-1]), clip.landmarks[r])
                 for r in rows}
    half = (lambda a, n: progress(a / n * 0.5, 1.0)) if progress else None
    rest = (lambda a, n: progress(0.5 + a / n * 0.5, 1.0)) if progress else None
    mine, comp_p = score_bundle(personal, clip, rows, descriptor, real_desc, half, cancel)
    base, comp_d = score_bundle(default, clip, rows, descriptor, real_desc, rest, cancel)
    held = dict(mine)
    held.update({
        "psnr_face_default_avatar": base["psnr_face"], "ssim_face_default_avatar": base["ssim_face"],
        "identity_distance_default_avatar": base["identity_distance_median"],
        "nme51_vs_detector_default_avatar": base["nme51_vs_detector"],
        "expression_r_default_avatar": base["expression_r"],
        "identity_ratio_to_default": mine["identity_distance_median"] / base["identity_distance_median"]
        if base["identity_distance_median"] > 0 else float("nan"),
    })
    both = [r for r in rows if int(r) in comp_p and int(r) in comp_d]
    picks = [both[k] for k in np.linspace(0, len(both) - 1, min(SHEET_ROWS, len(both))).astype(int)] if both else []
    tiles = []
    for r in picks:
        L = clip.landmarks[r]
        tiles.append(tuple(crop_around(np.ascontiguousarray(im[..., ::-1]), L)
                           for im in (clip.frames[r], comp_p[int(r)], comp_d[int(r)])))
    sheet = contact_sheet(tiles) if tiles else np.zeros((32, 32, 3), np.uint8)
    return held, sheet


__all__ = ["verify", "score_bundle", "track_and_render"]
