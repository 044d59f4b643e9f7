"""Records the frames of a calibration into a :class:`models.adapt.Recording`.

Fed from the tracking thread with each frame and the tracker's result for it, so it uses
exactly the tracker's detector and crop box (``FrameResult.box``, the smoothed box the
tracker cropped with) and :mod:`models.crop` to make the crops. Only crops are kept
(S x S each), never whole frames. If the tracker skipped camera frames (the mailbox dropped
them), a gap of more than ``max_gap`` frames inserts an invalid placeholder so that no
training pair straddles it.
"""

from __future__ import annotations

import numpy as np
import torch

from models import crop as C
from models.adapt import Recording
from models.tracker import FrameResult

from .packets import FramePacket, RecordingState


class CalibrationRecorder:
    """Collects (crop, keypoints in crop pixels, valid) for ``seconds`` of camera time."""

    def __init__(self, seconds: float, crop_size: int, max_gap: int = 2) -> None:
        self.seconds, self.S, self.max_gap = float(seconds), int(crop_size), max_gap
        self.crops: list[np.ndarray] = []  # (S, S, 3) uint8 BGR
        self.keypoints: list[np.ndarray] = []  # (68, 2)
        self.valid: list[bool] = []
        self.t0: float | None = None
        self.t_last = 0.0
        self.last_index: int | None = None
        self.skipped = 0  # camera frames the tracker never saw while recording

    @property
    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else self.t_last - self.t0

    @property
    def done(self) -> bool:
        return self.t0 is not None and self.elapsed >= self.seconds

    def state(self) -> RecordingState:
        return RecordingState(min(self.elapsed, self.seconds), self.seconds, len(self.valid))

    def add(self, pkt: FramePacket, result: FrameResult) -> bool:
        """Record one tracked frame. Returns True once ``seconds`` have been recorded."""
        if self.t0 is None:
            self.t0 = pkt.t_capture
        self.t_last = pkt.t_capture
        if self.last_index is not None:
            gap = pkt.index - self.last_index - 1
            self.skipped += max(gap, 0)
            if gap > self.max_gap:
                self._append_invalid()
        self.last_index = pkt.index
        if result.found and result.box is not None and result.detected is not None:
            self.crops.append(C.crop(pkt.image, result.box, self.S))
            self.keypoints.append(C.to_crop(result.detected, result.box, self.S).astype(np.float32))
            self.valid.append(True)
        else:
            self._append_invalid()
        return self.done

    def _append_invalid(self) -> None:
        self.crops.append(np.zeros((self.S, self.S, 3), np.uint8))
        self.keypoints.append(np.full((68, 2), np.nan, np.float32))
        self.valid.append(False)

    def recording(self) -> Recording:
        """crops (N, 3, S, S) float RGB in [0, 1]; keypoints (N, 68, 2) crop pixels; valid (N,)."""
        if not self.crops:
            S = self.S
            return Recording(torch.zeros(0, 3, S, S), torch.zeros(0, 68, 2), torch.zeros(0, dtype=torch.bool))
        rgb = np.ascontiguousarray(np.stack(self.crops)[..., ::-1])  # (N, S, S, 3)
        crops = torch.from_numpy(rgb).permute(0, 3, 1, 2).float().div_(255.0)
        return Recording(crops, torch.from_numpy(np.stack(self.keypoints)), torch.tensor(self.valid, dtype=torch.bool))
