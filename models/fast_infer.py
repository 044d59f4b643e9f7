"""A faster inference path for the per-frame networks (E_I, D, C) on the CPU.

Training and calibration stay in torch; this only runs the tracker's per-frame forward passes:

* ``encoder``  E_I: crop (B, 3, S, S) [+ keypoints (B, 68, 2)] -> z (B, Z), H (B, 6) [, e (B, K)]
* ``geometry`` D's geometry branch: z -> G (B, V, 3)
* ``texture``  D's texture branch fused with C and the clamp: (z, view, M (3, 3), b (3)) -> C(T) in [0, 1].
  The colour matrix and bias are *inputs* of the graph, so a new colour correction needs no re-export.

Backends (``ROOMFIT_INFER`` or the Tracker's ``infer_backend``):

* ``torch``  today's eager code (the fallback);
* ``onnx``   ONNX Runtime on the CPU (``pip install roomfit-avatar[fast]`` / ``onnxruntime``): the graphs
  are exported with ``torch.onnx.export`` (TorchScript exporter) into memory;
* ``script`` TorchScript: traced, frozen and ``optimize_for_inference``-ed;
* ``auto``   ``onnx`` on a CPU device when onnxruntime imports, else ``torch``.

Weight changes (``Tracker.load_adapted``'s hot-swap, or any in-place change of a parameter) are seen
on the next call by a cheap key over the modules' identity and their tensors' version counters. A
graph whose weights changed is not used: that network runs in torch eager with the new weights (so
new weights reach the output on the very next frame) while the graph is rebuilt on a background
thread (``rebuild="background"``; ``"sync"`` rebuilds in the calling thread), then the fast graph
takes over again. The first build of a graph happens in the calling thread (``prepare`` from
``Tracker.warm_up``, else the first frame), so the outputs of a run do not depend on thread timing
until a weight swap. Which networks a backend serves: ``DEFAULT_NETWORKS`` (ONNX Runtime: all three;
TorchScript: the encoder only). A swap re-uses the exported ONNX graph with the new weights as
initializer overrides (no second export); the decoder is never adapted and C is a graph input.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import threading
import time
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .camera import view_direction
from .fast_runners import _RUNNERS, OPSET, TOLERANCE, _np, export_onnx  # noqa: F401  (part of this API)

log = logging.getLogger(__name__)
Tensor = torch.Tensor
BACKENDS = ("torch", "onnx", "script")
ENV = "ROOMFIT_INFER"
ENV_THREADS = "ROOMFIT_INFER_THREADS"
NETWORKS = ("encoder", "geometry", "texture")
# the networks each backend serves by default; the others stay in torch eager (bench.inference_speed on
# the 2-core VM, docs/speed.md: ONNX Runtime was as fast or faster than eager on all three; TorchScript
# only helps the encoder, its frozen texture decoder is ~2.5x slower than eager)
DEFAULT_NETWORKS = {"onnx": NETWORKS, "script": ("encoder",)}


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def resolve_backend(requested: str | None, device: torch.device | str = "cpu") -> tuple[str, str]:
    """-> (backend that will run, why). ``requested`` None reads ``ROOMFIT_INFER`` (default ``auto``)."""
    src = "argument"
    if requested is None:
        requested, src = os.environ.get(ENV, "auto") or "auto", ENV
    req = requested.strip().lower()
    dev = torch.device(device)
    if req not in BACKENDS + ("auto",):
        return "torch", f"unknown inference backend {requested!r} ({src}); use one of torch|onnx|script|auto"
    if req == "torch":
        return "torch", f"asked for ({src}={req})"
    if dev.type != "cpu":
        return "torch", f"{req} ({src}) is a CPU path; the networks run on {dev.type}"
    if req == "script":
        return "script", f"asked for ({src}={req})"
    if onnxruntime_available():
        return "onnx", f"onnxruntime is installed ({src}={req}); the fastest measured CPU path (docs/speed.md)"
    why = "onnxruntime (or onnx) is not installed: pip install 'roomfit-avatar[fast]'"
    return "torch", (why if req == "onnx" else f"auto: {why}")


# ----------------------------------------------------------------------------- graph wrappers
class _Encoder(nn.Module):
    def __init__(self, net: nn.Module, with_keypoints: bool) -> None:
        super().__init__()
        self.net, self.with_keypoints = net, with_keypoints

    def forward(self, image: Tensor, keypoints: Tensor | None = None):
        out = self.net(image, keypoints if self.with_keypoints else None, return_expr=True)
        return tuple(o for o in out if o is not None)  # (z, H) or (z, H, e)


class _Geometry(nn.Module):
    def __init__(self, dam: nn.Module) -> None:
        super().__init__()
        self.dam = dam

    def forward(self, z: Tensor) -> Tensor:
        return self.dam.decode_geometry(z)


class _Texture(nn.Module):
    """D's texture branch + C + clamp, with C's matrix and bias as inputs."""

    def __init__(self, dam: nn.Module) -> None:
        super().__init__()
        self.dec = dam.decoder

    def forward(self, z: Tensor, view: Tensor, M: Tensor, b: Tensor) -> Tensor:
        d, cfg = self.dec, self.dec.cfg
        v = d.view_embed(F.normalize(view, dim=-1))
        h = d.tex_fc(torch.cat([z, v], 1)).view(z.shape[0], cfg.tex_channels[0], cfg.tex_base, cfg.tex_base)
        T = torch.sigmoid(d.tex_out(d.tex_up(F.leaky_relu(h, 0.2))) + d.tex_bias)
        return F.conv2d(T, M[:, :, None, None], b).clamp(0.0, 1.0)


_TENSORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> its parameters and buffers


def _key(*modules: nn.Module) -> tuple:
    """Identity + storage + version counter of every parameter and buffer: changes with a module swap
    (``load_adapted``), ``load_state_dict``, an optimiser step or ``p.data = ...`` (~20 us a call)."""
    k: list = []
    for m in modules:
        tensors = _TENSORS.get(m)
        if tensors is None:
            tensors = _TENSORS[m] = tuple(m.parameters()) + tuple(m.buffers())
        k.append(id(m))
        k.extend((t.data_ptr(), t._version) for t in tensors)
    return tuple(k)


# torch.onnx.export keeps global state (one export at a time per process), and two builds at once
# would only share the same cores: every build in the process waits for this lock
_BUILD_LOCK = threading.Lock()


# ----------------------------------------------------------------------------- the wrapper
class FastInfer:
    """Per-frame E_I + D + C for a :class:`models.bundle.AvatarBundle` through one backend.

    Reads ``bundle.i2znet`` / ``bundle.dam`` / ``bundle.color`` at every call, so a bundle whose
    modules are swapped (``Tracker.load_adapted``) is followed. ``served_by`` says which backend
    answered each network on the last call; ``rebuilds`` lists (network, seconds) of every rebuild.
    """

    def __init__(self, bundle, backend: str | None = None, device: torch.device | str = "cpu",
                 threads: int | None = None, rebuild: str = "background",
                 networks: tuple[str, ...] | None = None) -> None:
        self.bundle = bundle
        self.device = torch.device(device)
        self.backend, self.why = resolve_backend(backend, self.device)
        if threads is None:
            threads = int(os.environ.get(ENV_THREADS, "1") or 1)
        self.threads = max(1, int(threads))
        if rebuild not in ("background", "sync"):
            raise ValueError("rebuild must be 'background' or 'sync'")
        self.rebuild = rebuild
        self.served_by: dict[str, str] = {}
        self.rebuilds: list[tuple[str, float]] = []
        self.reexports: list[bool] = []  # per rebuild: exported anew (True) or new weights in the old graph
        self.errors: list[str] = []
        self.last_expr: Tensor | None = None
        if networks is None:
            networks = DEFAULT_NETWORKS.get(self.backend, ())
        self.networks = () if self.backend == "torch" else tuple(n for n in NETWORKS if n in networks)
        self._runners: dict[str, tuple] = {}  # name -> (key, weak refs to the source modules, runner)
        self._building: dict[str, threading.Thread] = {}
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        level = logging.WARNING if (backend or os.environ.get(ENV, "auto")).lower() not in ("auto", self.backend) \
            else logging.INFO
        log.log(level, "inference backend: %s (%s)", self.backend, self.why)

    # ------------------------------------------------------------------ graphs
    def _sources(self, name: str) -> tuple:
        b = self.bundle
        return (b.i2znet,) if name == "encoder" else (b.dam,)

    def _example(self, name: str):
        b, cfg = self.bundle, self.bundle.cfg
        S = cfg.crop_size
        if name == "encoder":
            kp = b.i2znet.reads_keypoints
            x = torch.rand(1, 3, S, S)
            if kp:
                K = torch.from_numpy(np.random.default_rng(0).uniform(0.2 * S, 0.8 * S, (1, 68, 2))).float()
                return _Encoder(b.i2znet, True), (x, K), ["image", "keypoints"], self._enc_out()
            return _Encoder(b.i2znet, False), (x,), ["image"], self._enc_out()
        z = torch.zeros(1, cfg.z_dim)
        if name == "geometry":
            return _Geometry(b.dam), (z,), ["z"], ["G"]
        view = torch.tensor([[0.0, 0.0, -1.0]])
        return (_Texture(b.dam), (z, view, torch.eye(3), torch.zeros(3)), ["z", "view", "M", "b"], ["T"])

    def _enc_out(self) -> list[str]:
        return ["z", "H", "e"] if self.bundle.i2znet.head_e is not None else ["z", "H"]

    def _build(self, name: str, key: tuple, sources: tuple, snapshot: nn.Module, args, names_in, names_out) -> None:
        t0 = time.perf_counter()
        try:
            with self._lock:
                base = self._runners.get(name)
            with _BUILD_LOCK, torch.no_grad():
                runner = _RUNNERS[self.backend](snapshot, args, names_in, names_out, self.threads,
                                                base=base[2] if base is not None else None)
        except Exception as e:  # a graph that cannot be built: that network stays in torch
            msg = f"{self.backend} {name}: {type(e).__name__}: {e}; that network stays in torch"
            log.warning(msg)
            with self._lock:
                self.errors.append(msg)
                self._failed.add(name)
                self._building.pop(name, None)
            return
        dt = time.perf_counter() - t0
        with self._lock:
            self._runners[name] = (key, tuple(weakref.ref(m) for m in sources), runner)
            self.rebuilds.append((name, dt))
            self.reexports.append(runner.reexported)
            self._building.pop(name, None)
        log.info("inference backend %s: %s graph built in %.2f s", self.backend, name, dt)

    def _current(self, name: str, key: tuple, sources: tuple):
        have = self._runners.get(name)
        if have is None or have[0] != key or any(r() is not m for r, m in zip(have[1], sources)):
            return None  # (the weak references: a freed module's id and memory may be reused)
        return have[2]

    def _runner(self, name: str):
        """The fast runner whose weights are current, or None (torch serves; a rebuild is started)."""
        if name not in self.networks or name in self._failed:
            return None
        sources = self._sources(name)
        key = _key(*sources)
        with self._lock:
            runner = self._current(name, key, sources)
            if runner is not None or name in self._building:
                return runner
        module, args, names_in, names_out = self._example(name)
        snapshot = copy.deepcopy(module).eval()  # the live module keeps serving while we export a copy
        job = (name, key, sources, snapshot, args, names_in, names_out)
        if self.rebuild == "sync" or name not in self._runners:  # the first build: in this thread
            self._build(*job)
            with self._lock:
                return self._current(name, key, sources)
        th = threading.Thread(target=self._build, args=job, name=f"fast-infer-{name}", daemon=True)
        with self._lock:
            self._building[name] = th
        th.start()
        return None

    def prepare(self, timeout: float | None = None) -> bool:
        """Build every graph now (or start building, then wait up to ``timeout`` s). -> all fast."""
        for name in self.networks:
            self._runner(name)
        self.wait(timeout)
        return all(self._runner(n) is not None for n in self.networks)

    def weights_changed(self) -> None:
        """Start rebuilding the graphs whose weights changed (the next call would notice anyway)."""
        for name in self.networks:
            self._runner(name)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for background rebuilds to finish."""
        t_end = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._building.values())
            if not threads:
                return
            for th in threads:
                th.join(None if t_end is None else max(0.0, t_end - time.monotonic()))
            if t_end is not None and time.monotonic() >= t_end:
                return

    # ------------------------------------------------------------------ networks
    def encode(self, crops: Tensor, keypoints: Tensor | None):
        """E_I -> z (B, Z), H (B, 6), e (B, K) or None."""
        net = self.bundle.i2znet
        r = self._runner("encoder") if crops.device.type == "cpu" else None
        if r is None:
            self.served_by["encoder"] = "torch"
            return net(crops, keypoints, return_expr=True)
        self.served_by["encoder"] = self.backend
        args = (crops.contiguous(), keypoints) if net.reads_keypoints else (crops.contiguous(),)
        if net.reads_keypoints and keypoints is None:
            raise ValueError("this I2ZNet uses detector keypoints: pass keypoints (B, 68, 2) in crop pixels")
        out = r(*[a.float() for a in args])
        return out[0], out[1], (out[2] if len(out) > 2 else None)

    def geometry(self, z: Tensor) -> Tensor:
        """D's geometry branch: (B, Z) -> G (B, V, 3)."""
        r = self._runner("geometry") if z.device.type == "cpu" else None
        self.served_by["geometry"] = "torch" if r is None else self.backend
        return self.bundle.dam.decode_geometry(z) if r is None else r(z)[0]

    def texture(self, z: Tensor, view: Tensor) -> Tensor:
        """C(D's texture) clamped to [0, 1]: (B, Z), (B, 3) -> (B, 3, T, T)."""
        r = self._runner("texture") if z.device.type == "cpu" else None
        self.served_by["texture"] = "torch" if r is None else self.backend
        color = self.bundle.color
        if r is None:
            _, T = self.bundle.dam.decoder(z, view)
            return color(T).clamp(0.0, 1.0)
        conv = color.conv
        b = conv.bias if conv.bias is not None else torch.zeros(3)
        return r(z, view, conv.weight[:, :, 0, 0], b)[0]

    @torch.no_grad()
    def infer(self, crops: Tensor, keypoints: Tensor | None, texture: bool = True, post=None):
        """:meth:`models.tracker.Tracker.infer`'s contract: -> z, H, G, C(T) or None, timings (ms);
        the expression head's answer is left in ``last_expr``."""
        b = self.bundle
        t0 = time.perf_counter()
        if self.backend == "torch":  # today's eager code, unchanged
            z, H, self.last_expr = b.i2znet(crops, keypoints, return_expr=True)
            if post is not None:
                z, H = post(z, H)
            t1 = time.perf_counter()
            if texture:
                G, T = b.dam.decode(z, view_direction(H))
            else:
                G, T = b.dam.decode_geometry(z), None
            t2 = time.perf_counter()
            T = b.color(T).clamp(0.0, 1.0) if T is not None else None
            t3 = time.perf_counter()
            return z, H, G, T, {"encoder": 1e3 * (t1 - t0), "decoder": 1e3 * (t2 - t1), "colour": 1e3 * (t3 - t2)}
        z, H, self.last_expr = self.encode(crops, keypoints)
        if post is not None:
            z, H = post(z, H)
        t1 = time.perf_counter()
        fast_geo = self._runner("geometry") is not None
        fast_tex = texture and self._runner("texture") is not None
        if texture and not fast_geo and not fast_tex:  # today's decode: one call gives G and T
            G, T = b.dam.decode(z, view_direction(H))
            t2 = time.perf_counter()
            T = b.color(T).clamp(0.0, 1.0)
            self.served_by.update(geometry="torch", texture="torch")
            return z, H, G, T, {"encoder": 1e3 * (t1 - t0), "decoder": 1e3 * (t2 - t1),
                                "colour": 1e3 * (time.perf_counter() - t2)}
        G = self.geometry(z)
        T = self.texture(z, view_direction(H)) if texture else None  # C fused into the fast texture graph
        t2 = time.perf_counter()
        return z, H, G, T, {"encoder": 1e3 * (t1 - t0), "decoder": 1e3 * (t2 - t1), "colour": 0.0}
