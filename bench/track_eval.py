"""Offline tracking of a clip for benchmarks: detect, crop, run E_I/D/C in batches, score.

The tracker's own inputs only (frames + the landmark detector); ground truth is read only
by the scoring functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models import crop as C
from models.adapt import Recording
from models.bundle import AvatarBundle
from models.camera import crop_to_frame, frame_to_crop, project, view_direction
from models.filters import SmoothingConfig, smooth_sequence
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import make_detector


@dataclass
class Track:
    """Per-frame detector output and crops. points (N, 68, 2) frame px (NaN = no face);
    boxes (N, 3) crop boxes; rec: the crops as a :class:`Recording`."""

    points: np.ndarray
    found: np.ndarray
    boxes: np.ndarray
    rec: Recording


class SimulatedDetector:
    """A stand-in 68-point detector for studio clips: ground-truth points corrupted the way a
    real detector errs -- a fixed per-landmark bias (semantic disagreement), a slowly drifting
    offset and per-frame jitter, all proportional to the face size (dlib on our lab renders
    errs by 3-4 % of the landmark extent; these defaults give about 3 % per point). Benchmarks only: it reads ground
    truth, so results that use it say so (``detector: simulated``)."""

    def __init__(self, gt_points: np.ndarray, seed: int = 0, jitter: float = 0.012, bias: float = 0.015,
                 drift: float = 0.008) -> None:
        rng = np.random.default_rng(seed)
        n = len(gt_points)
        ext = np.ptp(gt_points, axis=1).max(-1)[:, None, None]  # (N, 1, 1) face size in px
        walk = np.cumsum(rng.normal(0, 1, (n, 1, 2)), 0)
        walk = (walk - walk.mean(0)) / (walk.std(0) + 1e-9)
        self.points = (gt_points + ext * (bias * rng.normal(0, 1, (1, 68, 2)) + drift * walk
                                          + jitter * rng.normal(0, 1, (n, 68, 2)))).astype(np.float32)
        self.frame_index = 0

    def detect(self, image_bgr: np.ndarray) -> list:
        from models.facebox import points_bbox
        from models.landmarks import Face

        p = self.points[min(self.frame_index, len(self.points) - 1)]
        self.frame_index += 1
        return [Face(points_bbox(p), p, 1.0)]


def detect_and_crop(frames_bgr: np.ndarray, S: int, detector="dlib", smoothing: float = 0.5) -> Track:
    """``detector``: a backend name (dlib, fan, studio) or a detector object."""
    det = TrackingLandmarks(make_detector(detector) if isinstance(detector, str) else detector)
    smoother = C.BoxSmoother(smoothing)
    N = len(frames_bgr)
    pts = np.full((N, 68, 2), np.nan, np.float32)
    found = np.zeros(N, bool)
    boxes = np.zeros((N, 3))
    crops = np.zeros((N, S, S, 3), np.uint8)
    kps = np.full((N, 68, 2), np.nan, np.float32)
    last_box = None
    for i, f in enumerate(frames_bgr):
        face = det.update(f)
        if face is not None:
            pts[i], found[i] = face.points, True
            last_box = smoother(C.box_from_landmarks(face.points))
            kps[i] = C.to_crop(face.points, last_box, S)
        else:
            smoother.reset()
        box = last_box if last_box is not None else np.array([0.0, 0.0, float(min(f.shape[:2]))])
        boxes[i] = box
        crops[i] = C.crop(f, box, S)
    x = torch.from_numpy(np.ascontiguousarray(crops[..., ::-1])).permute(0, 3, 1, 2).float() / 255.0
    return Track(pts, found, boxes, Recording(x, torch.from_numpy(kps), torch.from_numpy(found)))


def _modules(bundle: AvatarBundle, weights: dict | None = None):
    """(E_I, C) of the bundle, or copies with adapted ``weights`` loaded; eval mode."""
    import copy

    i2z = bundle.i2znet
    if weights is not None:
        i2z = copy.deepcopy(i2z)
        i2z.load_state_dict(weights["i2z"])
    return i2z.eval(), _color(bundle, weights)


def _color(bundle: AvatarBundle, weights: dict | None = None):
    """C of the bundle, or a copy with the adapted ``weights`` loaded; eval mode."""
    import copy

    col = bundle.color
    if weights is not None:
        col = copy.deepcopy(col)
        col.load_state_dict(weights["color"])
    return col.eval()


def _decode(bundle: AvatarBundle, col, z: torch.Tensor, H: torch.Tensor, textures: bool, batch: int) -> dict:
    """Batched D (-> C; textures are large): z (N, Z), H (N, 6) crop px -> G (N, V, 3)
    [, T (N, 3, T, T)]."""
    Gs, Ts = [], []
    for k in range(0, len(z), batch):
        if textures:
            G, T = bundle.dam.decode(z[k:k + batch], view_direction(H[k:k + batch]))
            Ts.append(col(T).clamp(0, 1))
        else:
            G = bundle.dam.decode_geometry(z[k:k + batch])
        Gs.append(G)
    out = {"G": torch.cat(Gs).numpy()}
    if textures:
        out["T"] = torch.cat(Ts).numpy()
    return out


@torch.no_grad()
def predict(bundle: AvatarBundle, rec: Recording, weights: dict | None = None, batch: int = 32,
            textures: bool = False) -> dict:
    """Batched E_I -> D (-> C). Returns z (N, Z), G (N, V, 3), H (N, 6) crop px, optionally
    T (N, 3, T, T)."""
    i2z, col = _modules(bundle, weights)
    zs, Hs = [], []
    for k in range(0, len(rec), batch):
        z, H = i2z(rec.crops[k:k + batch], rec.keypoints[k:k + batch])
        zs.append(z)
        Hs.append(H)
    z, H = torch.cat(zs), torch.cat(Hs)
    return {"z": z.numpy(), "H": H.numpy(), **_decode(bundle, col, z, H, textures, batch)}


@torch.no_grad()
def smoothed(bundle: AvatarBundle, pred: dict, boxes: np.ndarray, found: np.ndarray, fps: float,
             cfg: SmoothingConfig | None = None, weights: dict | None = None, batch: int = 32) -> dict:
    """The live tracker's output filter (:mod:`models.filters`) run over ``predict``'s answer for
    consecutive frames at ``fps``; G (and T, with the colour correction of ``weights``) decoded
    again from the filtered (z, H).
    boxes (N, 3) frame px; found (N,) bool -> the same keys as ``pred``."""
    S = bundle.cfg.crop_size
    b = torch.from_numpy(boxes).double()
    Hf = crop_to_frame(torch.from_numpy(pred["H"]).double(), b, S).numpy()
    z, Hf = smooth_sequence(pred["z"], Hf, np.arange(len(Hf)) / fps, boxes[:, 2], cfg, found)
    H = frame_to_crop(torch.from_numpy(Hf), b, S).float()
    decoded = _decode(bundle, _color(bundle, weights), torch.from_numpy(z).float(), H, "T" in pred, batch)
    return {"z": z.astype(np.float32), "H": H.numpy(), **decoded}


def salient_error_256(bundle: AvatarBundle, G: np.ndarray, H_crop: np.ndarray, boxes: np.ndarray, S: int,
                      salient_uv: np.ndarray, gt_2d: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Per-frame mean reprojection error of the salient points (moles), in pixels at the
    256-crop scale (the paper's input size). Shapes: G (N, V, 3), H_crop (N, 6), boxes (N, 3),
    gt_2d (N, M, 2) frame px, visible (N, M) -> (N,) (NaN where none visible)."""
    topo = bundle.topology
    fid, bary = topo.locate_uv(salient_uv)
    P = (G[:, topo.faces[fid]] * bary[None, :, :, None]).sum(2)  # (N, M, 3)
    Hf = crop_to_frame(torch.from_numpy(H_crop).double(), torch.from_numpy(boxes).double(), S)
    p = project(torch.from_numpy(P).double(), Hf).numpy()  # (N, M, 2) frame px
    d = np.linalg.norm(p - gt_2d, axis=-1) * (256.0 / boxes[:, 2:3])
    d = np.where(visible, d, np.nan)
    with np.errstate(all="ignore"):
        return np.nanmean(d, axis=1)


def landmark_fit(bundle: AvatarBundle, points_crop: np.ndarray, steps: int = 60, z_reg: float = 1.0) -> dict:
    """Classical per-frame baseline: optimise pose H and the latent expression z of the DAM
    geometry to the detected landmarks of each frame independently (no temporal prior).
    points_crop (N, 68, 2) crop px (NaN = no face) -> G (N, V, 3), H (N, 6)."""
    from models.i2znet import default_pose

    N = len(points_crop)
    S = bundle.cfg.crop_size
    K = torch.from_numpy(np.nan_to_num(points_crop)).float()
    valid = torch.from_numpy(np.isfinite(points_crop).all((1, 2)))
    mean, _ = default_pose(S)
    H = torch.tensor(mean).repeat(N, 1).requires_grad_(True)
    z = torch.zeros(N, bundle.cfg.z_dim, requires_grad=True)
    lmk = torch.from_numpy(bundle.topology.landmark_ids)
    opt = torch.optim.Adam([{"params": [H], "lr": 0.5}, {"params": [z], "lr": 0.05}])
    dam = bundle.dam.eval().requires_grad_(False)
    scale = torch.tensor([1.0, 0.01, 0.01, 0.01, 1.0, 1.0])  # radians move slower than pixels
    for _ in range(steps):
        G = dam.decode_geometry(z)
        Hs = H * scale + H.detach() * (1 - scale)
        err = ((project(G[:, lmk], Hs) - K) ** 2).sum(-1).mean(-1)
        loss = (err * valid).sum() + z_reg * (z**2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return {"G": dam.decode_geometry(z).numpy(), "H": H.detach().numpy()}
