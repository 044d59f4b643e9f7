"""The tracker's texture: decoded on a worker thread or in ``track``, with the avatar's irises moved
to the gaze (:class:`TrackerTexture`, a part of :class:`models.tracker.Tracker`).

The state it reads and writes lives on the tracker: ``_texture`` (3, T, T) the texture in use,
``_texture_index`` the frame it was decoded for, ``_texture_gen`` its generation (bumped by
:meth:`~TrackerTexture._invalidate_texture`), ``_worker`` the :class:`~models.texture_worker.TextureWorker`
or None, ``_eye_warp`` / ``_looked`` the iris move and its last answer; ``fast``, ``device``,
``bundle``, ``notice`` and :meth:`~models.tracker.Tracker.fall_back_to_cpu` are the tracker's.
"""

from __future__ import annotations

import logging
import weakref

import numpy as np
import torch

from .gaze import EyeWarp
from .texture_worker import TextureWorker

log = logging.getLogger("models.tracker")  # the tracker's messages, under its name


class TrackerTexture:
    """The texture half of :class:`models.tracker.Tracker` (module docstring)."""

    _texture: np.ndarray | None
    _texture_index: int
    _texture_gen: int
    _worker: TextureWorker | None
    _eye_warp: EyeWarp | None | bool
    _looked: tuple | None

    def set_texture_async(self, on: bool) -> None:
        """Decode the texture on a worker thread (``texture_async`` of the constructor), or in
        :meth:`track` again, from the next frame."""
        if on and self._worker is None:
            ref = weakref.ref(self)  # the worker must not keep the tracker alive

            def decode(z: torch.Tensor, view: torch.Tensor):
                tr = ref()
                if tr is None:
                    return None
                return tr.fast.texture(z.to(tr.device), view.to(tr.device))[0].cpu().numpy()

            self._worker = TextureWorker(decode)
            self._worker_finalizer = weakref.finalize(self, self._worker.close, 1.0)
        elif not on and self._worker is not None:
            self._worker_finalizer.detach()
            self._worker.close()
            self._worker = None

    @property
    def texture_async(self) -> bool:
        return self._worker is not None

    def wait_texture(self, timeout: float | None = None) -> bool:
        """Wait until the texture worker has nothing left to decode (tests, benchmarks). -> idle"""
        return True if self._worker is None else self._worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop the texture worker (the tracker still tracks, decoding the texture in :meth:`track`)."""
        self.set_texture_async(False)

    def _invalidate_texture(self) -> None:
        self._texture = None
        self._texture_gen += 1

    def _worker_failed(self, worker: TextureWorker) -> None:
        """The texture worker's decode raised: the texture is decoded in :meth:`track` again (on the CPU
        when CUDA ran out of memory), and ``notice`` says why; the frame keeps the last texture."""
        err = worker.last_error
        self.set_texture_async(False)
        if isinstance(err, torch.cuda.OutOfMemoryError):
            self.fall_back_to_cpu("CUDA ran out of memory decoding the texture")
        else:
            self.notice = (f"the texture worker failed ({type(err).__name__}: {err}); "
                           "the texture is decoded in the tracking thread")
            log.warning(self.notice)

    def _adopt_texture(self, worker: TextureWorker) -> None:
        """Take the worker's newest texture if it is of this generation and newer than the one in use."""
        got = worker.latest()
        if got is not None and got[0] == self._texture_gen and got[1] > self._texture_index:
            self._texture_index, self._texture = got[1], got[2]

    def _eye_warper(self, T: int) -> EyeWarp | None:
        """The avatar's :class:`EyeWarp` for T x T textures (built once); None where the topology has no
        usable eyes (the tiny test mesh)."""
        if self._eye_warp is None or (self._eye_warp and self._eye_warp.T != T):
            try:
                self._eye_warp = EyeWarp(self.bundle.topology, T)
            except ValueError as e:
                log.info("the avatar's eyes cannot follow the gaze: %s", e)
                self._eye_warp = False
        return self._eye_warp or None

    GAZE_STEP = 0.02  # radians (1.1 deg, below the estimate's error): a smaller change reuses the last texture

    def _look(self, texture: np.ndarray, gaze: np.ndarray) -> np.ndarray:
        """The avatar's texture (3, T, T) with its irises moved to ``gaze`` (read-only). The same array
        while neither the texture nor the gaze (in GAZE_STEP) changed, so the renderer uploads nothing."""
        step = tuple(np.round(np.asarray(gaze, np.float64) / self.GAZE_STEP).astype(int).ravel())
        if not any(step):
            return texture
        if self._looked is not None and self._looked[0] is texture and self._looked[1] == step:
            return self._looked[2]
        warp = self._eye_warper(texture.shape[-1])
        if warp is None:
            return texture
        out = warp.apply(texture, np.array(step, np.float64).reshape(2, 2) * self.GAZE_STEP)
        out.setflags(write=False)
        self._looked = (texture, step, out)
        return out
