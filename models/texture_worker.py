"""The view-dependent texture decoded off the tracking thread (issue 16, item 3).

A tracked frame needs the DAM's geometry G = D_G(z) at once (pose, landmarks, the avatar's shape),
but its texture T = C(D_T(z, v)) (paper Eq. 2 and 5, v the view direction) changes slowly with z and
v and costs ~10x the geometry on the CPU (docs/speed.md: texture + C 12 ms, geometry 1 ms p50). With
:class:`TextureWorker` the tracker decodes only G per frame and hands (z, v) to a worker thread,
which decodes T while the next frames are tracked:

    tracking thread:  E_I + D_G (t) | E_I + D_G (t+1) | E_I + D_G (t+2) ...
    texture worker:   D_T + C (t)                     | D_T + C (t+2) ...

The latest request wins (a slot, no queue), so the texture is never more than one decode behind the
newest frame it was asked for. ONNX Runtime and torch's kernels release the GIL, so on two cores the
worker runs beside the tracking thread. Every request carries a *generation*; the tracker bumps it
when the texture is invalidated (a new track, a calibration's colour swap), so a texture decoded for
the old state is dropped, never shown.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

import numpy as np
import torch

log = logging.getLogger(__name__)
Tensor = torch.Tensor


class TextureWorker:
    """One daemon thread running ``decode(z (1, Z), view (1, 3)) -> texture (3, T, T)`` on the newest
    request. :meth:`submit` never blocks on a decode; :meth:`latest` returns the newest finished one."""

    def __init__(self, decode: Callable[[Tensor, Tensor], np.ndarray | None], name: str = "texture-decode") -> None:
        self._decode = decode
        self._cv = threading.Condition()
        self._job: tuple[int, int, Tensor, Tensor] | None = None  # (generation, frame index, z, view)
        self._done: tuple[int, int, np.ndarray] | None = None  # (generation, frame index, texture)
        self._busy = False
        self._closed = False
        self.decoded = 0  # textures finished
        self.replaced = 0  # requests overwritten by a newer one before the worker took them
        self.failures = 0  # decodes that raised since the last good one (the owner decides what to do)
        self.last_error: BaseException | None = None
        self.errors: deque[str] = deque(maxlen=20)  # the newest failures' messages
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, generation: int, index: int, z: Tensor, view: Tensor) -> None:
        """Ask for the texture of frame ``index`` (z (1, Z), view (1, 3), copied here)."""
        job = (int(generation), int(index), z.detach().to("cpu", copy=True), view.detach().to("cpu", copy=True))
        with self._cv:
            if self._closed:
                return
            if self._job is not None:
                self.replaced += 1
            self._job = job
            self._cv.notify_all()

    def latest(self) -> tuple[int, int, np.ndarray] | None:
        """(generation, frame index, texture (3, T, T) read-only) of the newest decode, or None."""
        with self._cv:
            return self._done

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no request is pending or running (tests, benchmarks). -> idle"""
        with self._cv:
            return self._cv.wait_for(lambda: self._closed or (self._job is None and not self._busy), timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread (a pending request is dropped)."""
        with self._cv:
            self._closed, self._job, self._done = True, None, None
            self._cv.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._closed or self._job is not None)
                if self._closed:
                    return
                job, self._job, self._busy = self._job, None, True
            gen, index, z, view = job
            tex = None
            try:
                with torch.no_grad():
                    tex = self._decode(z, view)
            except Exception as e:  # a failed decode keeps the last texture; the owner sees ``failures``
                msg = f"texture decode failed: {type(e).__name__}: {e}"
                if self.failures == 0:
                    log.warning(msg)
                self.errors.append(msg)
                self.last_error = e
                self.failures += 1
            with self._cv:
                if tex is not None:
                    self.failures = 0
                    tex = np.asarray(tex)
                    tex.setflags(write=False)
                    self._done = (gen, index, tex)
                    self.decoded += 1
                self._busy = False
                self._cv.notify_all()
