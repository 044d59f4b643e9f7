"""Per-frame tracks for ``--tracks OUT.npz`` (compare point by point with other trackers).

Arrays (N = frames tracked):
``landmarks`` (N, 68, 2) float32 the tracker's landmarks in frame pixels (the projected model landmarks with
the per-person corrective of models.landmark_identity unless --raw-landmarks; NaN: no face);
``model_landmarks`` (N, 68, 2) float32 the avatar's own projected landmarks (no corrective);
``found`` (N,) bool; ``H`` (N, 6) float32 pose in frame pixels (f, rx, ry, rz, tx, ty);
``z`` (N, Z) float32 latent code; ``timestamp`` (N,) float64 seconds (video: frame / fps);
``frame`` (N,) int64 frame number in the source (video position, else capture counter);
``expressions`` (N, K) float32 named expression weights in [0, 1] (NaN: no face), their names in
``expression_names`` (K,) str; ``gaze`` (N, 2, 2) float32 yaw/pitch radians per eye (NaN: no face
or not estimated by the model).

Rows are copied into preallocated float32 blocks of :data:`BLOCK` frames (~1.1 KB a frame with
Z = 128), never kept as the tracker's arrays: those are views of torch tensors (each keeps its
tensor alive), and keeping three of them a frame grew RSS by ~100 KB a frame in a plain
tracking loop (tiny profile, 3000 frames; the numbers themselves are ~2 KB), the bulk of the
headless run's growth in issue 16. With ``keep=False`` (no ``--tracks``) nothing per frame is kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .packets import TrackPacket

BLOCK = 4096  # frames per block of rows


class TrackWriter:
    """Collects tracks from packets (``keep``) and writes them as one ``.npz``; counts found faces."""

    def __init__(self, fps: float, video: bool, keep: bool = True) -> None:
        self.fps, self.video, self.keep = float(fps or 30.0), video, keep
        self.n = 0
        self.found_count = 0
        self._t0: float | None = None
        self._z_dim: int | None = None
        self._names: tuple[str, ...] | None = None  # expression names, from the first face
        self._blocks: list[dict[str, np.ndarray]] = []

    def _block(self, z_dim: int, k: int) -> dict[str, np.ndarray]:
        return {"landmarks": np.full((BLOCK, 68, 2), np.nan, np.float32), "found": np.zeros(BLOCK, bool),
                "model_landmarks": np.full((BLOCK, 68, 2), np.nan, np.float32),
                "H": np.full((BLOCK, 6), np.nan, np.float32), "z": np.full((BLOCK, z_dim), np.nan, np.float32),
                "timestamp": np.zeros(BLOCK, np.float64), "frame": np.zeros(BLOCK, np.int64),
                "expressions": np.full((BLOCK, k), np.nan, np.float32),
                "gaze": np.full((BLOCK, 2, 2), np.nan, np.float32)}

    def add(self, p: TrackPacket) -> None:
        r = p.result
        if self._t0 is None:
            self._t0 = p.t_capture
        self.found_count += bool(r.found)
        if not self.keep:
            self.n += 1
            return
        if r.found and self._z_dim is None:
            self._z_dim = len(r.z)
            self._names = tuple(r.expression_names) if r.expressions is not None else ()
            for b in self._blocks:  # blocks made before the first face: give them the z and K widths
                b["z"] = np.full((BLOCK, self._z_dim), np.nan, np.float32)
                b["expressions"] = np.full((BLOCK, len(self._names)), np.nan, np.float32)
        i = self.n % BLOCK
        if i == 0:
            self._blocks.append(self._block(self._z_dim or 0, len(self._names or ())))
        b = self._blocks[-1]
        frame = p.position if self.video and p.position >= 0 else p.index
        b["frame"][i] = frame
        b["timestamp"][i] = frame / self.fps if self.video else p.t_capture - self._t0
        if r.found:
            b["found"][i] = True
            b["landmarks"][i], b["H"][i], b["z"][i] = r.landmarks, r.H_frame, r.z
            if r.model_landmarks is not None:
                b["model_landmarks"][i] = r.model_landmarks
            if r.expressions is not None and len(r.expressions) == b["expressions"].shape[1]:
                b["expressions"][i] = r.expressions
            if r.gaze is not None:
                b["gaze"][i] = r.gaze
        self.n += 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The tracks so far (N rows each; empty without ``keep``)."""
        z_dim = self._z_dim or 0
        blocks = self._blocks or [self._block(z_dim, len(self._names or ()))]
        out = {k: np.concatenate([b[k] for b in blocks])[: self.n if self.keep else 0] for k in blocks[0]}
        out["expression_names"] = np.array(self._names or (), dtype=str)
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **self.arrays())
        return path
