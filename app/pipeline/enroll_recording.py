"""The frames of a guided enrollment recording, per prompt, and the clip written from them.

No Qt. Frames are kept JPEG-compressed in memory (quality 95, ~50 KB a 640x480 frame, ~45 MB for
the 30 s recording) so that one prompt can be recorded again without touching the others; at
the end :meth:`GuidedRecording.write` writes one mp4 with the prompts in their order
(``cv2.VideoWriter`` into ``*.part.mp4``, then ``os.replace``: never a half-written clip) plus a
JSON side file naming each prompt's frame range, at the frame rate the frames arrived at.
:func:`import_clip` takes a video recorded elsewhere instead (copied the same way).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np

from models.files import sha256

from .enrollment_prompts import PROMPT_NAMES


class RecordingError(RuntimeError):
    """The clip cannot be written; the message says why."""


class GuidedRecording:
    def __init__(self, quality: int = 95) -> None:
        self.quality = int(quality)
        self.takes: dict[str, list[tuple[float, bytes]]] = {n: [] for n in PROMPT_NAMES}
        self.size: tuple[int, int] | None = None  # (width, height) of the first frame

    def clear(self, prompt: str) -> None:
        self.takes[prompt] = []

    def add(self, prompt: str, frame_rgb: np.ndarray, t: float) -> None:
        """One camera frame (H, W, 3) RGB uint8 at time ``t`` (seconds) while ``prompt`` was on screen."""
        h, w = frame_rgb.shape[:2]
        if self.size is None:
            self.size = (w, h)
        bgr = cv2.cvtColor(np.ascontiguousarray(frame_rgb), cv2.COLOR_RGB2BGR)
        if (w, h) != self.size:  # the camera format changed mid-recording
            bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self.takes[prompt].append((float(t), buf.tobytes()))

    def frames(self, prompt: str | None = None) -> int:
        return len(self.takes[prompt]) if prompt else sum(len(v) for v in self.takes.values())

    def fps(self) -> float:
        """The rate the frames arrived at (median over prompts), 30 when it cannot be told; 5-60."""
        rates = []
        for take in self.takes.values():
            if len(take) >= 3 and take[-1][0] > take[0][0]:
                rates.append((len(take) - 1) / (take[-1][0] - take[0][0]))
        return float(np.clip(np.median(rates), 5.0, 60.0)) if rates else 30.0

    def write(self, path: str | Path, part: str | Path, segments: str | Path | None = None) -> dict:
        """Write the clip to ``path`` via ``part`` (a ``*.mp4`` name); -> {frames, fps, sha256, segments}."""
        path, part = Path(path), Path(part)
        if self.size is None or self.frames() == 0:
            raise RecordingError("nothing was recorded (no camera frames arrived)")
        fps = self.fps()
        writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), fps, self.size)
        if not writer.isOpened():
            raise RecordingError(f"cannot write the recording to {part} (no mp4 writer, or the folder is not writable)")
        seg, n = {}, 0
        try:
            for name in PROMPT_NAMES:
                start = n
                for _, jpg in self.takes[name]:
                    writer.write(cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR))
                    n += 1
                seg[name] = [start, n]  # frames [start, end)
        finally:
            writer.release()
        if not part.exists() or part.stat().st_size == 0:
            part.unlink(missing_ok=True)
            raise RecordingError(f"the recording could not be written to {part} (disk full?)")
        os.replace(part, path)
        info = {"frames": n, "fps": fps, "sha256": sha256(path), "segments": seg}
        if segments is not None:
            tmp = Path(segments).with_name(Path(segments).name + ".tmp")
            tmp.write_text(json.dumps({"clip": path.name, "fps": fps, "frames": n, "prompts": seg}, indent=2))
            os.replace(tmp, segments)
        return info


def import_clip(src: str | Path, path: str | Path, part: str | Path) -> dict:
    """Copy an existing video ``src`` to ``path`` via ``part`` (the enrollment then owns the copy:
    deleting the avatar deletes it, never the original); -> {frames, fps, sha256}. RecordingError
    when it is not a video OpenCV can read."""
    src, path, part = Path(src), Path(path), Path(part)
    cap = cv2.VideoCapture(str(src))
    try:
        ok = src.is_file() and cap.isOpened() and cap.read()[0]
        frames, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    if not ok:
        raise RecordingError(f"cannot read the video {src}: not a file OpenCV can decode; choose another one")
    try:
        shutil.copyfile(src, part)
        os.replace(part, path)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise RecordingError(f"the video could not be copied to {path}: {e.strerror or e}") from e
    return {"frames": frames, "fps": fps, "sha256": sha256(path)}
