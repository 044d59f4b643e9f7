"""A learned 68-point heatmap landmark detector (the paper's "hourglass facial landmark
detector" of sec. 3.2 / Fig. 3), trained by this project on studio data.

Backend ``studio`` of :func:`models.landmarks.make_detector`. It implements the box-detector
protocol (``detect_boxes`` + ``fit``), so :class:`models.landmark_tracking.TrackingLandmarks` can
track with it: ``fit`` crops the image around a box, predicts heatmaps with a small
:class:`models.backbones.Hourglass`, reads sub-pixel peaks with a local soft-argmax, then
re-crops around its own points (the canonical :mod:`models.crop` framing) and predicts again.

Weights live in a folder with ``weights.safetensors`` + ``manifest.json`` (never pickled).
Use dlib/FAN on real faces: this network has only seen the studio's synthetic people.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import crop as C
from .backbones import Hourglass
from .facebox import Box, make_box_detector, to_gray

DEFAULT_DIR = Path(__file__).resolve().parent / "assets" / "studio_landmarks"
FORMAT = 1


def soft_argmax(heat: torch.Tensor, stride: float, window: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Sub-pixel peaks: softmax-weighted mean in a (2w+1)^2 window around each maximum.

    Shape: heat (B, P, h, w) -> points (B, P, 2) in input pixels, peak (B, P)
    """
    B, P, h, w = heat.shape
    flat = heat.flatten(2)
    peak, idx = flat.max(-1)
    r, c = idx // w, idx % w
    off = torch.arange(-window, window + 1, device=heat.device)
    rr = (r[..., None, None] + off[:, None]).clamp(0, h - 1)  # (B, P, k, 1)
    cc = (c[..., None, None] + off[None, :]).clamp(0, w - 1)  # (B, P, 1, k)
    vals = torch.gather(flat, 2, (rr * w + cc).flatten(2)).view(B, P, len(off), len(off))
    wts = torch.softmax(vals.flatten(2) * 10.0, -1).view_as(vals)
    y = (wts * rr.float()).sum((-1, -2))
    x = (wts * cc.float()).sum((-1, -2))
    pts = torch.stack([(x + 0.5) * stride - 0.5, (y + 0.5) * stride - 0.5], -1)
    return pts, peak


def integral_points(heat: torch.Tensor, stride: float, beta: float = 8.0) -> torch.Tensor:
    """Integral regression: softmax over the whole map, expected cell, in input pixels.

    Shape: heat (B, P, h, w) -> (B, P, 2)
    """
    B, P, h, w = heat.shape
    prob = torch.softmax(heat.flatten(2) * beta, -1).view(B, P, h, w)
    ys = (torch.arange(h, device=heat.device, dtype=heat.dtype) + 0.5) * stride - 0.5
    xs = (torch.arange(w, device=heat.device, dtype=heat.dtype) + 0.5) * stride - 0.5
    return torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)], -1)


def make_net(channels: int = 48, depth: int = 3) -> Hourglass:
    return Hourglass(stacks=1, channels=channels, depth=depth)


class HeatmapLandmarks:
    """68 points from a studio-trained hourglass (``detect``, ``detect_boxes``, ``fit``)."""

    def __init__(self, weights: str | Path | None = None, box_detector: str = "haar", device: str = "cpu",
                 net: Hourglass | None = None, crop_size: int = 96, refine: bool = True, **box_kw) -> None:
        self.device = torch.device(device)
        self.crop_size = crop_size
        if net is None:
            net, meta = load_weights(weights or DEFAULT_DIR)
            self.crop_size = int(meta.get("crop_size", crop_size))
        self.net = net.to(self.device).eval()
        self.refine = refine
        self.box_detector = make_box_detector(box_detector, **box_kw)

    def detect_boxes(self, image_bgr: np.ndarray) -> list[tuple[Box, float]]:
        return self.box_detector(to_gray(image_bgr))

    @torch.no_grad()
    def predict(self, image_bgr: np.ndarray, crop_box: np.ndarray) -> tuple[np.ndarray, float]:
        """Points (68, 2) in frame pixels and mean peak for a crop box (x0, y0, side)."""
        S = self.crop_size
        img = C.crop(image_bgr, crop_box, S)[..., ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img)).to(self.device).permute(2, 0, 1)[None].float() / 255.0
        heat = self.net(x)
        pts, peak = soft_argmax(heat, S / heat.shape[-1])  # local: unbiased by far background mass
        return C.to_frame(pts[0].cpu().numpy(), crop_box, S).astype(np.float32), float(peak.mean())

    def fit(self, image_bgr: np.ndarray, box: Box):
        from .landmarks import Face

        x0, y0, x1, y1 = box
        side = 1.5 * max(x1 - x0, y1 - y0)
        cb = np.array([(x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2 + 0.05 * side, side])
        pts, peak = self.predict(image_bgr, cb)
        if self.refine:
            pts, peak = self.predict(image_bgr, C.box_from_landmarks(pts))
        return Face(box, pts, float(np.clip(peak, 0.0, 1.0)))

    def detect(self, image_bgr: np.ndarray) -> list:
        return [self.fit(image_bgr, b) for b, _ in self.detect_boxes(image_bgr)]


def save_weights(net: Hourglass, path: str | Path, meta: dict) -> None:
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, str(path / "weights.tmp"))
    (path / "weights.tmp").replace(path / "weights.safetensors")
    (path / "manifest.json").write_text(json.dumps({"format": FORMAT, **meta}, indent=2, default=str))


def load_weights(path: str | Path) -> tuple[Hourglass, dict]:
    from safetensors.torch import load_file

    from .landmarks import LandmarkModelMissing

    path = Path(path)
    if not (path / "weights.safetensors").exists():
        raise LandmarkModelMissing(f"studio landmark detector weights not found in {path}; train them with "
                                   f"`python -m models.train_landmarks --lab CAPTURE --out {path}` "
                                   "or use --landmarks dlib")
    meta = json.loads((path / "manifest.json").read_text())
    net = make_net(meta.get("channels", 48), meta.get("depth", 3))
    net.load_state_dict(load_file(str(path / "weights.safetensors")))
    return net, meta


def heatmap_targets(points: torch.Tensor, size: int, stride: float, sigma: float = 1.0) -> torch.Tensor:
    """Gaussian target heatmaps. (B, 68, 2) crop px -> (B, 68, size, size)."""
    from .backbones import keypoints_to_heatmaps

    return keypoints_to_heatmaps(points, size, stride, sigma)


def landmark_loss(heat: torch.Tensor, target_pts: torch.Tensor, stride: float) -> torch.Tensor:
    """Integral-regression L1 (in heatmap cells) + heatmap MSE (x 100) against Gaussian targets.

    The coordinate term gives useful gradients from the first step (plain heatmap MSE sits
    on an all-zero plateau for hundreds of steps); the MSE term keeps peaks near 1 so the
    peak height works as a confidence score.
    """
    tgt = heatmap_targets(target_pts, heat.shape[-1], stride)
    coord = (integral_points(heat, stride) - target_pts).abs().mean() / stride
    return coord + 100.0 * F.mse_loss(heat, tgt)
