"""Gaze (beyond the paper): where each eye looks, from the iris in the image, and the avatar's eyes
following it in the texture.

**Convention.** ``gaze`` is (2, 2) radians, rows (subject's left eye = iBUG 42-47, subject's right eye
= iBUG 36-41), columns (yaw, pitch) in the camera's view: yaw > 0 turns the iris towards the image's
right (+x), pitch > 0 towards the image's bottom (+y), 0 = the person's own straight-ahead look.

**Estimate** (:class:`IrisGaze`, classical, no learned weights). In each eye's lid polygon (the
detector's six points, shrunk by ``SHRINK`` towards its centre to stay off the lashes) the iris and
pupil are the darkest pixels: the centroid c of w = max(0, q - I) (q = the polygon's ``DARK_Q``-th
percentile of grey, 15: the pupil and the iris core, which the lids hide least when the eye looks up
or down) is the iris centre. Relative to the eye corners (mid-point m, half-width A, unit
axis e1 along the corners pointing to the image's right for either eye, e2 its normal pointing down):

    u = <c - m, e1_image> / A,  v = <c - m, e2> / A             (eye-width units)
    yaw = asin(EYE_RATIO (u - u0)),  pitch = asin(EYE_RATIO (v - v0))     (each within +-MAX_GAZE)

where EYE_RATIO = A / r, r the radius on which the iris centre turns (a human eye: fissure half-width
about 14-15 mm, iris plane about 11 mm from the eyeball's centre, so 1.3), and (u0, v0) the person's
own straight-ahead, a running median over the last ``window_s`` seconds (the user mostly looks at the
screen), as the landmark rule's neutral levels. It also absorbs where a person's iris sits between
the corners (not centred: on the studio template a fixed 5 deg inwards) and the mean head pose (a
turned head shifts the iris, which lies in front of the corners). While few samples are in, the
horizontal u0 is shrunk towards 0, the iris centred between the corners: u0 = n / (n + n0) median(u)
with n the open-eye samples of that eye since the track began and n0 = ``prior_s`` seconds' worth (5 s), so
that the first seconds looking aside do not become "ahead". The vertical v0 has no such prior (where
the iris sits against the corner line depends on the lids) and is the plain median.
A closed or nearly closed eye (opening < ``MIN_OPEN`` of its width) keeps its last gaze. The output
goes through a 1-euro filter (``GAZE_FILTER``: 1.5 Hz at rest, opening with speed so that a saccade
is followed within a frame or two; set ``smooth=False`` for the raw estimate). The studio
renders gaze with the same r (:class:`EyeWarp`), so the synthetic error measures the localisation, not
the anatomy constant.

**Avatar** (:class:`EyeWarp`). The avatar's texture shows the iris where the avatar person looked in
the lab; the eye surface texels are re-sampled from ``uv - J d`` with d = r sin(gaze) in the template's
model units and J the eye's local (x, y) -> texel map (an affine fit), so the iris moves on the eye
and the sclera fills in behind it. Eye texels are those whose template position lies in the
template's lid polygon (landmarks 36-41 / 42-47) on the front of the head.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from .filters import OneEuro, OneEuroConfig
from .topology import Topology

EYE_RATIO = 1.3  # fissure half-width / radius of the iris centre's turn (human anatomy, see above)
SHRINK = 0.15  # the lid polygon shrunk by this towards its centre (lashes, lid shadow)
MIN_OPEN = 0.12  # lid opening / eye width below which the eye counts as closed
DARK_Q = 15.0  # percentile of the eye's grey levels below which pixels count as iris / pupil
EYES = ((42, 48), (36, 42))  # (subject's left, subject's right) iBUG index ranges
MAX_GAZE = 0.8  # radians (46 deg): the eye's range of motion; an iris in the corner reads no further
GAZE_FILTER = OneEuroConfig(min_cutoff=1.5, beta=1.0)  # Hz, Hz per rad/s
LOOK_FULL = 0.5  # radians (29 deg) of gaze that make an ARKit eyeLook* weight 1
LOOK_NAMES = ("eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeLookDownLeft",
              "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "eyeLookDownRight")


def arkit_look(gaze: np.ndarray) -> np.ndarray:
    """(2, 2) gaze -> the 8 ARKit eyeLook* weights in [0, 1], order :data:`LOOK_NAMES`. In an unmirrored
    camera view the subject's left is the image's right (+x): the left eye looks out at yaw > 0, the
    right eye looks in at yaw > 0; pitch > 0 looks down."""
    w = np.clip(np.asarray(gaze, np.float64) / LOOK_FULL, -1.0, 1.0)
    (yl, pl), (yr, pr) = w
    out = [max(-yl, 0), max(yl, 0), max(-pl, 0), max(pl, 0), max(yr, 0), max(-yr, 0), max(-pr, 0), max(pr, 0)]
    return np.array(out, np.float32)


def inside_polygon(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule. p (N, 2), poly (M, 2) -> (N,) bool."""
    x, y = p[:, 0:1], p[:, 1:2]
    a, b = poly, np.roll(poly, -1, axis=0)
    cross = (a[:, 1] > y) != (b[:, 1] > y)
    xi = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / np.where(b[:, 1] == a[:, 1], 1e-12, b[:, 1] - a[:, 1])
    return (cross & (x < xi)).sum(1) % 2 == 1


def eye_frame(pts: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Six lid points of one eye (iBUG order: outer/inner corner at 0 and 3 for either eye) ->
    mid-point m (2,), half-width A, e1 (2,) pointing to the image's right, e2 (2,) its normal (down)."""
    a, b = pts[0], pts[3]
    if a[0] > b[0]:
        a, b = b, a
    A = 0.5 * float(np.linalg.norm(b - a))
    e1 = (b - a) / max(2 * A, 1e-9)
    return 0.5 * (a + b), A, e1, np.array([-e1[1], e1[0]])


def lid_opening(pts: np.ndarray) -> np.ndarray:
    """Lid opening over eye width: the mean of the two lid distances (1-5, 2-4) over the corner
    distance (0-3). pts (..., 6, 2) iBUG order of one eye -> (...)."""
    p = np.asarray(pts, np.float64)
    lid = 0.5 * (np.linalg.norm(p[..., 1, :] - p[..., 5, :], axis=-1)
                 + np.linalg.norm(p[..., 2, :] - p[..., 4, :], axis=-1))
    return lid / np.maximum(np.linalg.norm(p[..., 3, :] - p[..., 0, :], axis=-1), 1e-9)


def iris_offset(image: np.ndarray, pts: np.ndarray) -> np.ndarray | None:
    """(u, v) of the module docstring for one eye: image (H, W) grey or (H, W, 3) BGR uint8, pts (6, 2)
    -> (2,) or None when the eye is closed, off the image or shows no contrast."""
    m, A, e1, e2 = eye_frame(pts)
    if A < 2.0 or not np.isfinite(pts).all():
        return None
    if lid_opening(pts) < MIN_OPEN:
        return None
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 1
    H, W = image.shape[:2]
    if x0 < 0 or y0 < 0 or x1 > W or y1 > H:
        return None
    patch = image[y0:y1, x0:x1]
    patch = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
    c0 = pts.mean(0)
    poly = c0 + (1.0 - SHRINK) * (pts - c0) - [x0, y0]  # in patch pixels
    mask = np.zeros(patch.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    rr, cc = np.nonzero(mask)
    if len(rr) < 6:
        return None
    I = patch[rr, cc].astype(np.float32)
    w = np.clip(np.percentile(I, DARK_Q) - I, 0.0, None)
    if w.sum() <= 1e-6:
        return None
    c = np.array([(cc * w).sum(), (rr * w).sum()]) / w.sum() + [x0, y0]
    return np.array([np.dot(c - m, e1), np.dot(c - m, e2)]) / A


class IrisGaze:
    """Running estimator: ``update(image (H, W[, 3]) uint8, points (68, 2), t) -> (2, 2)`` radians (module
    docstring); a time step backwards or :meth:`reset` starts a fresh neutral."""

    def __init__(self, window_s: float = 30.0, capacity: int = 2048, refresh: int = 5, prior_s: float = 5.0,
                 smooth: bool = True) -> None:
        self.window_s, self.capacity, self.refresh = float(window_s), int(capacity), max(1, int(refresh))
        self.prior_s = float(prior_s)
        self.filter = OneEuro(GAZE_FILTER) if smooth else None
        self.reset()

    def reset(self) -> None:
        self._x = np.full((self.capacity, 2, 2), np.nan)  # (u, v) per eye
        self._t = np.full(self.capacity, -np.inf)
        self._n = 0
        self._t_last = -np.inf
        self._neutral = np.zeros((2, 2))
        self._last = np.zeros((2, 2))
        self._seen = np.zeros(2)  # open-eye samples per eye since the reset (the prior's weight fades with it)
        self._fps = 30.0
        if self.filter is not None:
            self.filter.reset()

    def neutral(self) -> np.ndarray:
        """The straight-ahead (u0, v0) per eye (2, 2): the window's median shrunk towards (0, 0) (class doc)."""
        keep = self._t >= self._t_last - self.window_s
        ts = self._t[keep]
        if len(ts) > 1:
            self._fps = min(max((len(ts) - 1) / max(float(np.ptp(ts)), 1e-6), 1.0), 240.0)
        n, n0 = self._seen, self.prior_s * self._fps
        with warnings.catch_warnings():  # an eye never seen open in the window: no neutral yet
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(self._x[keep], axis=0) if keep.any() else np.zeros((2, 2))
        med = np.where(np.isfinite(med), med, 0.0)
        med[:, 0] *= n / (n + n0)
        return med

    def update(self, image: np.ndarray, points: np.ndarray, t: float) -> np.ndarray:
        if t < self._t_last:
            self.reset()
        uv = np.full((2, 2), np.nan)
        for k, (a, b) in enumerate(EYES):
            o = iris_offset(image, np.asarray(points[a:b], np.float64))
            if o is not None:
                uv[k] = o
        i = self._n % self.capacity
        self._x[i], self._t[i] = uv, float(t)
        self._seen += np.isfinite(uv[:, 0])
        self._n += 1
        self._t_last = float(t)
        if self._n < 30 or self._n % self.refresh == 0:
            self._neutral = self.neutral()
        g = np.clip(np.arcsin(np.clip(EYE_RATIO * (uv - self._neutral), -1.0, 1.0)), -MAX_GAZE, MAX_GAZE)
        self._last = np.where(np.isfinite(g), g, self._last)  # a closed eye keeps its last gaze
        if self.filter is None:
            return self._last.astype(np.float32)
        return self.filter(self._last.ravel(), float(t)).reshape(2, 2).astype(np.float32)


class EyeWarp:
    """Move the iris of a texture in the head's UV atlas: ``apply(texture (3, T, T) or (T, T, 3), gaze
    (2, 2)) -> same shape`` (a new array; the input is not changed)."""

    def __init__(self, topology: Topology, T: int) -> None:
        face, bary = topology.texel_map(T)
        ok = face >= 0
        rows, cols = np.nonzero(ok)
        P = (topology.vertices[topology.faces[face[ok]]] * bary[ok][..., None]).sum(1)  # (N, 3) template
        L = topology.vertices[topology.landmark_ids]  # (68, 3)
        self.T = int(T)
        self._src_of: np.ndarray | None = None  # the texture whose (T, T, 3) copy _src is (see _hwc)
        self._src: np.ndarray | None = None
        self.eyes = []
        for a, b in EYES:
            poly = L[a:b, :2].astype(np.float64)
            _, A, _, _ = eye_frame(poly)
            front = P[:, 2] < L[a:b, 2].mean() + 0.5 * A
            sel = inside_polygon(P[:, :2].astype(np.float64), poly) & front
            if sel.sum() < 12:
                raise ValueError(f"{topology.name}: too few eye texels at T={T} to move the iris")
            r, c, xy = rows[sel], cols[sel], P[sel, :2].astype(np.float64)
            X = np.c_[xy, np.ones(len(xy))]
            M, *_ = np.linalg.lstsq(X, np.c_[c, r].astype(np.float64), rcond=None)  # (x, y, 1) -> (col, row)
            mask = np.zeros((T, T), np.float32)
            mask[r, c] = 1.0
            # J (2, 2): d(col, row) / d(x, y); radius: of the iris centre's turn, model units
            self.eyes.append({"rows": r, "cols": c, "J": M[:2].T, "mask": mask, "radius": A / EYE_RATIO})

    def apply(self, texture: np.ndarray, gaze: np.ndarray | None) -> np.ndarray:
        chw = texture.shape[0] == 3 and texture.shape[-1] != 3
        out = np.array(texture, dtype=np.float32, copy=True)  # the input's layout, contiguous
        if gaze is None or not np.isfinite(gaze).all() or not np.any(gaze):
            return out
        src = self._hwc(texture, chw)  # (T, T, 3) for cv2.remap; the texture outlives many gaze changes
        for e, g in zip(self.eyes, np.asarray(gaze, np.float64)):
            d = e["radius"] * np.sin(g)  # (2,) model units, +x right, +y down
            dc, dr = e["J"] @ d  # texel shift
            r, c = e["rows"], e["cols"]
            mc = (c - dc).astype(np.float32)[None]
            mr = (r - dr).astype(np.float32)[None]
            vals = cv2.remap(src, mc, mr, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]  # (n, 3)
            valid = cv2.remap(e["mask"], mc, mr, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[0]
            eye = src[r, c]
            bright = eye.sum(1) >= np.percentile(eye.sum(1), 60)
            sclera = np.median(eye[bright], axis=0)  # what shows where the iris moved away from
            new = valid[:, None] * vals + (1 - valid[:, None]) * sclera  # (n, 3)
            if chw:
                out[:, r, c] = new.T
            else:
                out[r, c] = new
        return out

    def _hwc(self, texture: np.ndarray, chw: bool) -> np.ndarray:
        """The texture as a contiguous (T, T, 3) float32 array, kept for the same (read-only) texture object:
        only the gaze changes between most calls, and the transposed copy is most of a call's cost."""
        if self._src_of is texture and not texture.flags.writeable:
            return self._src
        src = np.ascontiguousarray(np.moveaxis(texture, 0, -1) if chw else texture, dtype=np.float32)
        self._src_of, self._src = texture, src
        return src
