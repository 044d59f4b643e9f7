"""Scores of bench.expression_fidelity: one landmark track against a reference track, the
"does dlib's brow signal vary on this clip" rule, ground-truth blink events and per-region
vertex error. Pure numpy on arrays; no I/O.
"""

from __future__ import annotations

import numpy as np

from models.face_signals import INNER51, REGIONS, SIGNALS, event_f1, face_signals, find_blinks, nme, pearson
from models.metrics import LANDMARK_2D_OFFSET, temporal_stability

BLINK_TOL = 2  # frames either side
# dlib's brow signal "varies" on a clip when its spread is at least this many times its
# frame-to-frame jitter (fixed before any tracker was scored; see brow_variation)
BROW_VARIES_RATIO = 3.0
GT_BLINK_LEVEL = 0.5  # a ground-truth blink is a run of frames with blink weight above this


def valid(points: np.ndarray) -> np.ndarray:
    """(N, 68, 2) -> (N,) bool: every coordinate finite."""
    return np.isfinite(points).all(axis=(1, 2))


def eye_open_both(sig: dict) -> np.ndarray:
    """Both eyes averaged (the blink track that bench.expression_fidelity scores first)."""
    return (sig["eye_open_l"] + sig["eye_open_r"]) / 2


def stability_2d(points: np.ndarray) -> float:
    """Eq. 10 (+LANDMARK_2D_OFFSET px) over the frames where ``points`` has a face, as
    bench.real_videos does (frames without a face are skipped, not bridged)."""
    p = points[valid(points)]
    return temporal_stability(p, offset=LANDMARK_2D_OFFSET) if len(p) >= 3 else float("nan")


def blink_scores(pred_eye: np.ndarray, ref_events: np.ndarray, fps: float) -> dict:
    ev = find_blinks(pred_eye, fps)
    return {**event_f1(ev, ref_events, BLINK_TOL), "frames": [int(e) for e in ev]}


def landmark_scores(pred: np.ndarray, ref: np.ndarray, fps: float) -> dict:
    """``pred`` against ``ref``, both (N, 68, 2) frame px, NaN where there is no face.

    NME (per region and over the 51 inner points) and Pearson r of each signal on the frames
    where both have a face; blinks are found in each track's eye opening with those frames
    only (gaps bridged by :func:`models.face_signals.find_blinks`), both eyes averaged
    (``blink``) and per eye (``blink_per_eye``); 2D stability of ``pred`` on its own frames.
    """
    both = valid(pred) & valid(ref)
    out: dict = {"frames": int(len(pred)), "frames_scored": int(both.sum()),
                 "pred_found_fraction": float(valid(pred).mean()) if len(pred) else float("nan")}
    if both.sum() == 0:
        out.update(nme51=float("nan"), nme={k: float("nan") for k in REGIONS}, r={k: float("nan") for k in SIGNALS},
                   blink={"f1": float("nan")}, blink_per_eye={}, stability_2d=stability_2d(pred))
        return out
    out["nme51"] = float(nme(pred[both], ref[both], INNER51).mean())
    out["nme"] = {k: float(nme(pred[both], ref[both], idx).mean()) for k, idx in REGIONS.items()}
    mask = np.where(both[:, None, None], 1.0, np.nan)
    sp, sr = face_signals(pred * mask), face_signals(ref * mask)
    out["r"] = {k: pearson(sp[k], sr[k]) for k in SIGNALS}
    ref_ev = find_blinks(eye_open_both(sr), fps)
    out["blink"] = blink_scores(eye_open_both(sp), ref_ev, fps)
    out["blink"]["ref_frames"] = [int(e) for e in ref_ev]
    out["blink_per_eye"] = {k: blink_scores(sp[k], find_blinks(sr[k], fps), fps)["f1"]
                            for k in ("eye_open_l", "eye_open_r")}
    out["stability_2d"] = stability_2d(pred)
    return out


# a named weight and the reference signal it should follow (sign: +1 rises with it, -1 falls); sided
# names are averaged over both sides; the mouth width is followed by smile minus pucker
NAMED_SIGNALS = {"eye_open_l": ((("eyeBlinkLeft",), -1),), "eye_open_r": ((("eyeBlinkRight",), -1),),
                 "mouth_open": ((("jawOpen",), +1),), "brow_height": ((("browInnerUp",), +1),),
                 "mouth_width": ((("mouthSmileLeft", "mouthSmileRight"), +1), (("mouthPucker",), -1))}


def named_signal_r(expressions: np.ndarray | None, names: tuple[str, ...] | None, ref: np.ndarray) -> dict:
    """Pearson r of the tracker's named weights with the reference's signals (a real clip has no true
    weights; this asks whether a blink weight rises as dlib's eye closes, the jaw weight as its mouth opens).
    expressions (N, K) with NaN rows where no face, ref (N, 68, 2). -> {signal: r} (NaN: names missing)"""
    if expressions is None or not names:
        return {k: float("nan") for k in NAMED_SIGNALS}
    sig = face_signals(np.asarray(ref, np.float64))
    col = {n: i for i, n in enumerate(names)}
    out = {}
    for s, terms in NAMED_SIGNALS.items():
        if not all(n in col for ns, _ in terms for n in ns):
            out[s] = float("nan")
            continue
        w = sum(sign * np.mean([expressions[:, col[n]] for n in ns], axis=0) for ns, sign in terms)
        out[s] = float(pearson(w, sig[s]))
    return out


def brow_variation(ref: np.ndarray) -> dict:
    """Does the reference detector's brow signal vary on this clip?

    spread = std of the brow height over the frames with a face; jitter = the frame-to-frame
    noise level, std(second difference) / sqrt(6) (white noise of std s has a second difference
    of std s * sqrt(6), and a smooth brow raise barely moves it), taken robustly (1.4826 x MAD).
    ``varies`` when spread >= BROW_VARIES_RATIO x jitter. Reads only the reference track."""
    b = face_signals(ref[valid(ref)])["brow_height"]
    if len(b) < 5:
        return {"spread": float("nan"), "jitter": float("nan"), "ratio": float("nan"), "varies": False}
    d2 = np.diff(b, 2)
    jitter = 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / np.sqrt(6)
    spread = float(b.std())
    ratio = spread / jitter if jitter > 0 else float("inf")
    return {"spread": spread, "jitter": float(jitter), "ratio": float(ratio),
            "varies": bool(ratio >= BROW_VARIES_RATIO)}


def weight_events(w: np.ndarray, level: float = GT_BLINK_LEVEL) -> np.ndarray:
    """Events in a blink-weight track (1 = closed): one per run of frames above ``level``, at the
    run's largest weight. (N,) -> (E,) int64."""
    w = np.nan_to_num(np.asarray(w, np.float64), nan=0.0)
    up = w > level
    events, t, n = [], 0, len(w)
    while t < n:
        if not up[t]:
            t += 1
            continue
        end = t
        while end + 1 < n and up[end + 1]:
            end += 1
        events.append(t + int(np.argmax(w[t:end + 1])))
        t = end + 1
    return np.asarray(events, np.int64)


def vertex_regions(vertices: np.ndarray, landmark_ids: np.ndarray, radius: float = 0.25) -> dict[str, np.ndarray]:
    """Vertices of each face region: a vertex belongs to the region of its nearest landmark
    (template positions) when that landmark is within ``radius`` model units (the face is about
    2 units wide); ``face`` is their union and ``all`` every vertex. -> {name: (V,) bool}."""
    lm = vertices[landmark_ids]
    d = np.linalg.norm(vertices[:, None, :] - lm[None], axis=-1)
    near, dist = d.argmin(1), d.min(1)
    region_of = np.empty(68, object)
    for k, idx in REGIONS.items():
        region_of[list(idx)] = k
    out = {k: (region_of[near] == k) & (dist <= radius) for k in REGIONS}
    out["face"] = dist <= radius
    out["all"] = np.ones(len(vertices), bool)
    return out


def region_vertex_error(G: np.ndarray, G_ref: np.ndarray, regions: dict[str, np.ndarray],
                        frames: np.ndarray) -> dict:
    """Mean vertex distance (model units) per region over ``frames`` (bool (N,))."""
    if not frames.any():
        return {k: float("nan") for k in regions}
    d = np.linalg.norm(G[frames] - G_ref[frames], axis=-1)  # (F, V)
    return {k: float(d[:, m].mean()) for k, m in regions.items()}


def mean_over(clips: list[dict], path: tuple[str, ...]) -> float:
    """Mean over clips of the finite values at ``path`` (e.g. ("r", "mouth_open"))."""
    vals = []
    for c in clips:
        v = c
        for p in path:
            v = v.get(p, float("nan")) if isinstance(v, dict) else float("nan")
        if isinstance(v, (int, float)) and np.isfinite(v):
            vals.append(float(v))
    return float(np.mean(vals)) if vals else float("nan")
