"""Run :func:`models.adapt.adapt` in a child process, so the adaptation never holds the GIL
that the GUI and the tracking thread need.

In a thread of the app process, the adaptation's Python (autograd bookkeeping, the
optimiser, ~1,000 small ops per step) competed for the GIL with the GUI thread and the
tracker: the GUI's event loop stalled up to 51 ms and tracking fell to 26 FPS on 2 cores
(measured). The child is ``python -m app.pipeline.adapt_process FD`` (a plain subprocess, started
once and kept: torch's import and warm-up are paid at start-up, not per calibration), at a
lower CPU priority, talking over a socket pair:

    parent -> child   ("hello", threads)                                  once (nice, idle: argv)
                      ("model", key, cfg, topology, dam_state, device)   once per avatar
                      ("adapt", key, i2z_state, frozen, color_state, recording, cfg, threads)
                      ("cancel",) | ("close",)
    child -> parent   ("ready", seconds) | ("progress", step, steps, info) |
                      ("result", fields, weights) | ("error", message)

Messages go through :mod:`app.ipc` (numpy arrays out of band, never torch tensors). ``AdaptProcess.adapt`` has the
signature of :func:`models.adapt.adapt` and returns the same :class:`AdaptResult`; with the
same number of torch threads the result is bit-identical (tested). Crops travel as 8-bit
pixels when they are exactly that (camera recordings), else as float32.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from ..ipc import child_connection, spawn, stop
from ..ipc import recv as _recv
from ..ipc import send as _send

log = logging.getLogger(__name__)


class AdaptProcessError(RuntimeError):
    """The calibration process could not start, or ended unexpectedly."""




def _to_numpy(state: dict) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


def _pack_recording(rec) -> dict:
    """Recording -> numpy arrays; crops (N, 3, S, S) as uint8 when they are 8-bit pixels / 255."""
    import torch

    crops = rec.crops.detach().cpu().float()
    q = (crops * 255.0).round_().clamp_(0, 255).to(torch.uint8)
    exact = torch.equal(q.float().div_(255.0), crops)
    return {"crops": q.numpy() if exact else crops.numpy(), "keypoints": rec.keypoints.detach().cpu().numpy(),
            "valid": rec.valid.detach().cpu().numpy()}


# ---------------------------------------------------------------------------------- child
class _Child:
    """The child's state: one avatar's frozen DAM and topology, networks rebuilt per job."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.models: dict = {}
        self.cancelled = False
        self.closing = False

    def serve(self) -> None:
        threads = _recv(self.conn)[1]
        t0 = time.perf_counter()
        import torch

        from .calibration import warm_up

        torch.set_num_threads(max(1, threads))
        warm_up()
        _send(self.conn, ("ready", time.perf_counter() - t0))
        while not self.closing:
            try:
                msg = _recv(self.conn)
            except (EOFError, OSError):
                return
            if msg[0] == "close":
                return
            if msg[0] == "cancel":  # arrived after its job ended
                continue
            try:
                if msg[0] == "model":
                    self._model(*msg[1:])
                    _send(self.conn, ("ok",))
                elif msg[0] == "adapt":
                    self._adapt(*msg[1:])
            except Exception as e:  # report to the parent, stay alive for the next job
                log.exception("calibration process: %s failed", msg[0])
                _send(self.conn, ("error", f"{type(e).__name__}: {e}"))

    def _model(self, key, cfg, topology, dam_state: dict, device: str) -> None:
        import torch

        from models.dam import DeepAppearanceModel

        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            dev = torch.device("cpu")
        dam = DeepAppearanceModel(cfg, torch.from_numpy(topology.vertices))
        dam.load_state_dict({k: torch.from_numpy(v) for k, v in dam_state.items()})
        self.models = {key: (cfg, topology, dam.to(dev).eval(), dev)}  # one avatar at a time

    def _adapt(self, key, i2z_state: dict, frozen: list, color_state: dict, rec: dict, cfg, threads: int) -> None:
        import torch

        from models.adapt import Recording, adapt
        from models.color import ColorCorrection
        from models.i2znet import I2ZNet

        if key not in self.models:
            raise RuntimeError("no avatar sent for this calibration")
        mcfg, topology, dam, dev = self.models[key]
        torch.set_num_threads(max(1, threads))
        i2z = I2ZNet(mcfg, load_pretrained=False)
        i2z.load_state_dict({k: torch.from_numpy(v) for k, v in i2z_state.items()})
        for name, p in i2z.named_parameters():
            p.requires_grad_(name not in frozen)  # the live encoder's frozen pretrained streams
        color = ColorCorrection(mcfg.color_bias)
        color.load_state_dict({k: torch.from_numpy(v) for k, v in color_state.items()})
        crops = torch.from_numpy(rec["crops"])
        crops = crops.float().div_(255.0) if crops.dtype == torch.uint8 else crops
        recording = Recording(crops, torch.from_numpy(rec["keypoints"]), torch.from_numpy(rec["valid"]))
        self.cancelled = False

        def progress(step: int, steps: int, info: dict) -> None:
            _send(self.conn, ("progress", step, steps, info))

        result = adapt(i2z.to(dev), color.to(dev), dam, topology, recording, cfg, progress, self._cancel)
        weights = None if result.weights is None else {k: _to_numpy(v) for k, v in result.weights.items()}
        fields = {k: v for k, v in vars(result).items() if k != "weights"}
        _send(self.conn, ("result", fields, weights))

    def _cancel(self) -> bool:
        while not self.cancelled and self.conn.poll(0):
            msg = _recv(self.conn)
            if msg[0] in ("cancel", "close"):
                self.cancelled = True
                self.closing = msg[0] == "close"
        return self.cancelled


def _lower_priority(nice: int, idle: bool) -> None:
    """nice the process; with ``idle`` also SCHED_IDLE (Linux): it then runs only on CPU time that
    nothing else wants, and a waking tracker or GUI thread preempts it at once."""
    if nice > 0 and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    if idle and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError as e:
            log.info("SCHED_IDLE not available: %s", e)


def _main() -> None:
    """Child entry point: ``python -m app.pipeline.adapt_process FD NICE IDLE``."""
    _lower_priority(int(sys.argv[2]), sys.argv[3] == "1")  # first thing: even the imports run at low priority
    logging.basicConfig(level=logging.WARNING, format="calibration process: %(levelname)s %(message)s")
    conn = child_connection()
    try:
        _Child(conn).serve()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        conn.close()


# ---------------------------------------------------------------------------------- parent
class AdaptProcess:
    """A kept child process that runs adaptations; ``adapt`` mirrors :func:`models.adapt.adapt`.

    ``nice``: how much to lower the child's CPU priority (tracking and the GUI come first);
    ``idle``: also schedule it SCHED_IDLE (Linux); ``threads``: its torch threads. Not
    thread-safe: one caller (the calibration worker).
    """

    def __init__(self, nice: int = 10, threads: int = 1, start_timeout: float = 120.0, idle: bool = True) -> None:
        self.nice, self.threads, self.start_timeout = int(nice), int(threads), float(start_timeout)
        self.idle = bool(idle)
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._key: object = None
        self._dam = None  # the DAM whose weights the child holds (kept alive: its id is the key)
        self.start_seconds = 0.0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> float:
        """Start the child (torch import + warm-up, a few seconds); -> seconds until ready."""
        if self.alive:
            return self.start_seconds
        self.close()
        t0 = time.perf_counter()
        self._proc, self._conn = spawn("app.pipeline.adapt_process", str(self.nice), "1" if self.idle else "0")
        _send(self._conn, ("hello", self.threads))
        msg = self._wait(self.start_timeout, "start")
        if msg[0] != "ready":
            self.close()
            raise AdaptProcessError(f"the calibration process failed to start: {msg}")
        self.start_seconds = time.perf_counter() - t0
        return self.start_seconds

    def ready(self) -> bool:
        """Start the child if it is not running; False (logged) when it cannot start, and the
        caller adapts in a thread instead."""
        try:
            if not self.alive:
                log.info("calibration process ready in %.2f s", self.start())
            return True
        except AdaptProcessError as e:
            log.warning("%s; adapting in a thread of the app instead", e)
            return False

    def adapt(self, i2znet, color, dam, topology, recording, cfg, progress: Callable | None = None,
              cancel: Callable[[], bool] | None = None):
        """:func:`models.adapt.adapt` in the child; the inputs stay untouched. -> AdaptResult"""
        import torch

        from models.adapt import AdaptResult

        self.start()
        conn = self._conn
        assert conn is not None
        if self._dam is not dam:
            self._key = (id(dam), time.monotonic())
            _send(conn, ("model", self._key, dam.cfg, topology, _to_numpy(dam.state_dict()),
                         str(next(dam.parameters()).device)))
            msg = self._wait(self.start_timeout, "model")
            if msg[0] != "ok":
                raise AdaptProcessError(f"the calibration process could not load the avatar: {msg[1]}")
            self._dam = dam
        frozen = [n for n, p in i2znet.named_parameters() if not p.requires_grad]
        _send(conn, ("adapt", self._key, _to_numpy(i2znet.state_dict()), frozen, _to_numpy(color.state_dict()),
                     _pack_recording(recording), cfg, torch.get_num_threads() if self.threads <= 0 else self.threads))
        cancel_sent = 0.0
        while True:
            if cancel is not None and not cancel_sent and cancel():
                _send(conn, ("cancel",))
                cancel_sent = time.monotonic()
            if cancel_sent and time.monotonic() - cancel_sent > 30.0:  # not answering: stop it
                self.close(kill=True)
                return AdaptResult(False, "cancelled", "cancelled; the live model is unchanged", None)
            msg = self._wait(0.1, "adapt", allow_timeout=True)
            if msg is None:
                continue
            if msg[0] == "progress":
                if progress is not None:
                    progress(*msg[1:])
            elif msg[0] == "result":
                fields, weights = msg[1], msg[2]
                if weights is not None:
                    weights = {k: {n: torch.from_numpy(a) for n, a in sd.items()} for k, sd in weights.items()}
                return AdaptResult(weights=weights, **fields)
            elif msg[0] == "error":
                raise AdaptProcessError(f"the calibration process failed: {msg[1]}")

    def _wait(self, timeout: float, what: str, allow_timeout: bool = False):
        conn = self._conn
        if conn is None:
            raise AdaptProcessError("the calibration process is not running")
        try:
            if not conn.poll(timeout):
                if allow_timeout and self.alive:
                    return None
                code = self._proc.poll() if self._proc is not None else None
                self.close(kill=True)
                raise AdaptProcessError(f"the calibration process did not answer ({what}, exit code {code})")
            return _recv(conn)
        except (EOFError, OSError):
            code = self._proc.poll() if self._proc is not None else None
            self.close(kill=True)
            raise AdaptProcessError(f"the calibration process ended unexpectedly ({what}, exit code {code})") from None

    def close(self, kill: bool = False) -> None:
        stop(self._proc, self._conn, kill=kill)
        self._proc, self._conn = None, None
        self._dam, self._key = None, None


if __name__ == "__main__":
    _main()
