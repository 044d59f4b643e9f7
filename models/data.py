"""Reading studio captures (the format the studio writes; models/ never imports studio/).

A capture is a folder::

    manifest.json            {"format_version": 1, "kind": "lab" | "wild", "seed", "person", "room",
                              "views", "frames", "image_size", "tex_size", "fps", ...}
    gt.npz                   ground truth, F frames x V views (V = 1 for wild):
        H          (F, V, 6)      float32  pose in image pixels (models.camera convention)
        expr       (F, E)         float32  expression weights
        G          (F, Nv, 3)     float32  rigid-free vertices
        landmarks  (F, V, 68, 2)  float32  2D landmarks, image pixels
        salient    (F, V, M, 2)   float32  salient points (moles), image pixels
        salient_visible (F, V, M) bool
        salient_uv (M, 2)         float32  the person's salient points (moles) in the UV atlas
        view_dir   (F, V, 3)      float32  unit vector head -> camera in the head frame
    images_v{v:02d}.npy      (F, S, S, 3) uint8 RGB   (lab; wild: video.mp4 instead)
    textures_v{v:02d}.npy    (F, T, T, 3) uint8 RGB   UV-space view-dependent texture (lab)
    masks_v{v:02d}.npy       (F, S, S/8) uint8        face/head pixel mask, np.packbits on the last axis (lab)
    video.mp4                (wild) what the tracker sees; gt.npz is never read by the tracker

Images and textures are memory-mapped, so large captures do not need to fit in RAM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CAPTURE_FORMAT = 1
GT_KEYS = ("H", "expr", "G", "landmarks", "salient", "salient_visible", "view_dir")


class CaptureError(RuntimeError):
    """A capture folder is missing, incomplete or of the wrong version."""


def image_file(v: int) -> str:
    return f"images_v{v:02d}.npy"


def texture_file(v: int) -> str:
    return f"textures_v{v:02d}.npy"


def mask_file(v: int) -> str:
    return f"masks_v{v:02d}.npy"


@dataclass
class Capture:
    path: Path
    manifest: dict
    gt: dict

    @property
    def frames(self) -> int:
        return int(self.manifest["frames"])

    @property
    def views(self) -> int:
        return int(self.manifest.get("views", 1))

    def images(self, v: int) -> np.ndarray:
        """(F, S, S, 3) uint8 RGB of view v (memory-mapped)."""
        return np.load(self.path / image_file(v), mmap_mode="r")

    def textures(self, v: int) -> np.ndarray:
        """(F, T, T, 3) uint8 RGB view-dependent textures of view v (memory-mapped)."""
        return np.load(self.path / texture_file(v), mmap_mode="r")

    def masks(self, v: int) -> np.ndarray:
        """(F, S, S) bool rendered-head mask of view v (lab)."""
        S = int(self.manifest["image_size"])
        return np.unpackbits(np.load(self.path / mask_file(v)), axis=-1, count=S).astype(bool)

    def video_frames(self) -> np.ndarray:
        """Decode video.mp4 (wild captures). -> (F, H, W, 3) uint8 BGR."""
        return read_video(self.path / "video.mp4")


def clean_fps(fps: float | None, default: float = 30.0) -> float:
    """A container's frame rate if plausible (1-240), else ``default`` (many files report 0 or
    nonsense)."""
    return float(fps) if fps and 1.0 <= fps <= 240.0 else default


def video_fps(path: str | Path) -> float:
    """The frame rate a video file declares (:func:`clean_fps`)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return clean_fps(fps)


def read_video(path: str | Path) -> np.ndarray:
    """Decode every frame of a video file. -> (F, H, W, 3) uint8 BGR; CaptureError if none."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    if not frames:
        raise CaptureError(f"{path} has no readable frames (missing, corrupt or an unsupported codec)")
    return np.stack(frames)


def load_capture(path: str | Path) -> Capture:
    path = Path(path)
    mpath = path / "manifest.json"
    if not mpath.exists():
        raise CaptureError(f"{path} is not a complete capture (no manifest.json); re-run `python -m studio capture`")
    manifest = json.loads(mpath.read_text())
    if manifest.get("format_version") != CAPTURE_FORMAT:
        raise CaptureError(f"{path}: capture format {manifest.get('format_version')}, expected {CAPTURE_FORMAT}")
    with np.load(path / "gt.npz", allow_pickle=False) as z:
        gt = {k: z[k] for k in z.files}
    missing = [k for k in GT_KEYS if k not in gt]
    if missing:
        raise CaptureError(f"{path}/gt.npz lacks {missing}")
    return Capture(path, manifest, gt)
