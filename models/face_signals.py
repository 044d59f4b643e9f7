"""Expression signals read from 68 iBUG landmarks, and blink events in an eye-opening track.

Every signal is divided by the outer-eye-corner distance |L36 - L45|, so it does not depend on
the face's size in the image (0-based iBUG indices):

- ``mouth_open``  |L62 - L66| (inner lips, top to bottom);
- ``mouth_width`` |L48 - L54| (mouth corners);
- ``eye_open_r`` / ``eye_open_l`` (|L37 - L41| + |L38 - L40|) / 2 and (|L43 - L47| + |L44 - L46|) / 2,
  named for the *subject's* eyes (iBUG 36-41 is the subject's right eye, as ARKit's eyeBlinkRight);
- ``brow_height`` mean over both sides of |brow centroid - eye centroid|.

These are the measures the expression-fidelity benchmark correlates between a tracker and an
independent detector, and what the landmark fallback of the outputs reads.
"""

from __future__ import annotations

import numpy as np

SIGNALS = ("mouth_open", "mouth_width", "eye_open_l", "eye_open_r", "brow_height")

REGIONS = {  # 0-based iBUG indices per region (NME per region)
    "jaw": tuple(range(0, 17)),
    "brows": tuple(range(17, 27)),
    "nose": tuple(range(27, 36)),
    "eyes": tuple(range(36, 48)),
    "mouth": tuple(range(48, 68)),
}
INNER51 = tuple(range(17, 68))  # NME51: the 68 points less the jaw line
# each eye's two (upper, lower) lid point pairs: the subject's left eye (42-47), then the right (36-41)
LID_PAIRS = (((43, 47), (44, 46)), ((37, 41), (38, 40)))


def _d(L: np.ndarray, i: int, j: int) -> np.ndarray:
    return np.linalg.norm(L[..., i, :] - L[..., j, :], axis=-1)


def interocular(L: np.ndarray) -> np.ndarray:
    """Outer-eye-corner distance |L36 - L45|. L (..., 68, 2) -> (...)."""
    return _d(np.asarray(L, np.float64), 36, 45)


def face_signals(L: np.ndarray) -> dict[str, np.ndarray]:
    """Size-normalised expression signals. L (..., 68, 2) pixels -> {name: (...)}; NaN in, NaN out."""
    L = np.asarray(L, np.float64)
    s = np.maximum(interocular(L), 1e-9)
    brow_r = np.linalg.norm(L[..., 17:22, :].mean(-2) - L[..., 36:42, :].mean(-2), axis=-1)
    brow_l = np.linalg.norm(L[..., 22:27, :].mean(-2) - L[..., 42:48, :].mean(-2), axis=-1)
    return {
        "mouth_open": _d(L, 62, 66) / s,
        "mouth_width": _d(L, 48, 54) / s,
        "eye_open_r": sum(_d(L, a, b) for a, b in LID_PAIRS[1]) / 2 / s,
        "eye_open_l": sum(_d(L, a, b) for a, b in LID_PAIRS[0]) / 2 / s,
        "brow_height": (brow_r + brow_l) / 2 / s,
    }


def nme(pred: np.ndarray, ref: np.ndarray, idx: tuple[int, ...] = INNER51) -> np.ndarray:
    """Per-frame normalised mean error over the points ``idx``, divided by the reference's
    outer-eye-corner distance. pred, ref (N, 68, 2) -> (N,) (NaN where either is missing)."""
    pred, ref = np.asarray(pred, np.float64), np.asarray(ref, np.float64)
    err = np.linalg.norm(pred[:, idx] - ref[:, idx], axis=-1).mean(-1)
    return err / np.maximum(interocular(ref), 1e-9)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the frames where both are finite (NaN with < 3 frames or no variance)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _fill_nan(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN gaps (ends held); all-NaN stays NaN."""
    x = np.asarray(x, np.float64).copy()
    ok = np.isfinite(x)
    if ok.sum() == 0:
        return x
    i = np.arange(len(x))
    x[~ok] = np.interp(i[~ok], i[ok], x[ok])
    return x


def find_blinks(eye_open: np.ndarray, fps: float = 30.0, drop: float = 0.35, window_s: float = 1.0,
                min_gap: int = 3) -> np.ndarray:
    """Blink events in an eye-opening track: the frame of each closing.

    The open-eye level is a running 90th percentile over +-``window_s``; a frame belongs to a
    closing when the opening falls below ``(1 - drop)`` x that level. Runs closer than
    ``min_gap`` frames merge; each run reports its frame of least opening. The rule is relative,
    so it does not depend on the person's eye size. eye_open (N,) -> (E,) int64 frame indices.
    """
    x = _fill_nan(eye_open)
    n = len(x)
    if n == 0 or not np.isfinite(x).any():
        return np.zeros(0, np.int64)
    h = max(1, int(round(window_s * fps)))
    level = np.array([np.percentile(x[max(0, t - h):t + h + 1], 90) for t in range(n)])
    closed = x < (1.0 - drop) * level
    events, t = [], 0
    while t < n:
        if not closed[t]:
            t += 1
            continue
        end, gap = t, 0
        u = t + 1
        while u < n and gap < min_gap:
            if closed[u]:
                end, gap = u, 0
            else:
                gap += 1
            u += 1
        events.append(t + int(np.argmin(x[t:end + 1])))
        t = end + 1
    return np.asarray(events, np.int64)


def event_f1(pred: np.ndarray, ref: np.ndarray, tol: int = 2) -> dict[str, float]:
    """Precision / recall / F1 of predicted events against reference events, each reference
    matched at most once within +-``tol`` frames (greedy by distance). No events in either: F1 1."""
    pred, ref = sorted(int(p) for p in pred), sorted(int(r) for r in ref)
    if not pred and not ref:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0, "n_pred": 0, "n_ref": 0}
    pairs = sorted((abs(p - r), i, j) for i, p in enumerate(pred) for j, r in enumerate(ref) if abs(p - r) <= tol)
    used_p, used_r = set(), set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_r:
            used_p.add(i)
            used_r.add(j)
    tp = len(used_p)
    prec = tp / len(pred) if pred else 0.0
    rec = tp / len(ref) if ref else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "n_pred": len(pred), "n_ref": len(ref)}


AGREEMENT_SIGNALS = {"eyes": ("eye_open_l", "eye_open_r"), "mouth": ("mouth_open", "mouth_width"),
                     "brows": ("brow_height",)}


def second_difference_sigma(d2: np.ndarray, axis=None) -> np.ndarray | float:
    """White-noise std behind second differences d2 = x_{t+1} - 2 x_t + x_{t-1}, robust to blinks
    and jumps: 1.4826 median(|d2|) / sqrt(6) (white noise of std s gives d2 of std sqrt(6) s;
    1.4826 turns a median absolute value into a Gaussian std)."""
    return 1.4826 * np.median(np.abs(d2), axis=axis) / np.sqrt(6.0)


def robust_noise(x: np.ndarray) -> float:
    """Frame-to-frame white-noise std of a track (:func:`second_difference_sigma`). NaN with < 5
    finite triples."""
    x = np.asarray(x, np.float64)
    d2 = x[2:] - 2 * x[1:-1] + x[:-2]
    d2 = d2[np.isfinite(d2)]
    return float(second_difference_sigma(d2)) if len(d2) >= 5 else float("nan")


def expression_agreement(pred: np.ndarray, ref: np.ndarray, min_snr: float = 2.0) -> dict[str, float]:
    """Pearson r between a model's and a detector's expression signals per group (eyes, mouth,
    brows; the mean r of the group's signals), on the frames where both have points.

    A signal counts only where the detector's track varies above its own jitter (std >
    ``min_snr`` x :func:`robust_noise`): a held-back stretch without a blink says nothing about
    blinks, and r of two noise tracks would be noise. Groups with no such signal are NaN.
    pred, ref (N, 68, 2) -> {"eyes": r, "mouth": r, "brows": r}.
    """
    sp, sr = face_signals(pred), face_signals(ref)
    out = {}
    for group, names in AGREEMENT_SIGNALS.items():
        rs = []
        for n in names:
            ref_n = sr[n][np.isfinite(sr[n])]
            if len(ref_n) < 8:
                continue
            noise = robust_noise(sr[n])
            if not (np.std(ref_n) > min_snr * noise):
                continue
            r = pearson(sp[n], sr[n])
            rs.append(0.0 if not np.isfinite(r) else r)  # a model signal with no variation agrees with nothing
        out[group] = float(np.mean(rs)) if rs else float("nan")
    return out
