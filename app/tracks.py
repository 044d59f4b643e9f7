"""Per-frame tracks for ``--tracks OUT.npz`` (compare point by point with other trackers).

Arrays (N = frames tracked):
``landmarks`` (N, 68, 2) float32 projected model landmarks in frame pixels (NaN: no face);
``found`` (N,) bool; ``H`` (N, 6) float32 pose in frame pixels (f, rx, ry, rz, tx, ty);
``z`` (N, Z) float32 latent code; ``timestamp`` (N,) float64 seconds (video: frame / fps);
``frame`` (N,) int64 frame number in the source (video position, else capture counter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .packets import TrackPacket


class TrackWriter:
    """Collects tracks from packets and writes them as one ``.npz``."""

    def __init__(self, fps: float, video: bool) -> None:
        self.fps, self.video = float(fps or 30.0), video
        self.rows: list[tuple] = []
        self.found_count = 0
        self._t0: float | None = None
        self._z_dim = 0

    def add(self, p: TrackPacket) -> None:
        r = p.result
        if self._t0 is None:
            self._t0 = p.t_capture
        frame = p.position if self.video and p.position >= 0 else p.index
        ts = frame / self.fps if self.video else p.t_capture - self._t0
        if r.found:
            self.found_count += 1
            self._z_dim = len(r.z)
        self.rows.append((frame, ts, r.found, r.landmarks, r.H_frame, r.z))

    def save(self, path: str | Path) -> Path:
        n, Z = len(self.rows), self._z_dim
        lm = np.full((n, 68, 2), np.nan, np.float32)
        H = np.full((n, 6), np.nan, np.float32)
        z = np.full((n, Z), np.nan, np.float32)
        for i, (_, _, found, L, h, zz) in enumerate(self.rows):
            if found:
                lm[i], H[i], z[i] = L, h, zz
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, landmarks=lm, found=np.array([r[2] for r in self.rows], bool), H=H, z=z,
                 timestamp=np.array([r[1] for r in self.rows], np.float64),
                 frame=np.array([r[0] for r in self.rows], np.int64))
        return path
