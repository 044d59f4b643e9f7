"""Graph runners of the fast inference path (:mod:`models.fast_infer`): ONNX Runtime sessions and
TorchScript graphs of one network each, built from a module and example inputs, checked against
torch eager within :data:`TOLERANCE` before they are used."""

from __future__ import annotations

import copy
import io
import logging
import warnings

import numpy as np
import torch
from torch import nn

log = logging.getLogger("models.fast_infer")
Tensor = torch.Tensor
OPSET = 17
# Stated agreement with torch eager (float32): the largest |difference| the tests allow. Measured on the
# default avatar (lite, bench.inference_speed / tests): ONNX Runtime z 6e-6..3e-5, H 3e-5..7e-5 (pixels
# and radians), G 4e-7..1.3e-6, C(T) 7e-7..3e-6; TorchScript ~10x smaller.
TOLERANCE = {"z": 2e-4, "H": 2e-3, "e": 1e-4, "G": 2e-5, "T": 2e-5}


def _np(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())


# ----------------------------------------------------------------------------- builders
def _ort_session(model_bytes: bytes, threads: int, overrides: list | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    for name, value in overrides or ():
        so.add_initializer(name, value)
    so.intra_op_num_threads = max(1, threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if threads > 1:  # spinning workers steal the core a loaded 2-core machine needs
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def export_onnx(module: nn.Module, args: tuple, names_in: list[str], names_out: list[str]) -> bytes:
    """``torch.onnx.export`` (TorchScript exporter, dynamic batch) into memory. No constant folding:
    every weight stays an initializer named as in ``module.state_dict()`` (ONNX Runtime folds at load),
    so new weights can be put into the same graph without exporting again (:class:`_OnnxRunner`)."""
    f = io.BytesIO()
    axes = {n: {0: "batch"} for n in names_in + names_out if n not in ("M", "b")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, f, dynamo=False, opset_version=OPSET, input_names=names_in,
                          output_names=names_out, dynamic_axes=axes, do_constant_folding=False)
    return f.getvalue()


def _distinct(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every floating tensor scaled by its own factor and shifted: no two
    tensors are equal, and a weight left at the copy's value changes the outputs visibly."""
    m = copy.deepcopy(module)
    with torch.no_grad():
        for i, t in enumerate(list(m.parameters()) + list(m.buffers())):
            if t.is_floating_point() and t.numel():
                t.mul_(1.5 + 0.01 * i).add_(0.1)
    return m


def _initializer_names(model_bytes: bytes) -> list[str]:
    import onnx

    return [i.name for i in onnx.load_from_string(model_bytes).graph.initializer]


class _OnnxRunner:
    """An ONNX Runtime session of one graph.

    The first build exports a copy of the module whose every tensor is scaled (a different network)
    and creates the session with the real weights as initializer overrides: when the outputs then
    agree with torch within :data:`TOLERANCE`, every weight really is overridable (ONNX Runtime
    ignores the override for some fused ops, e.g. a conv feeding an Add + Sigmoid) and a later
    rebuild (``base``: the runner of older weights) puts the new weights into the same graph without
    exporting again (~0.1 s instead of ~0.5 s, and mostly outside the GIL). Otherwise the graph is
    exported with the real weights, and every rebuild exports again."""

    def __init__(self, module: nn.Module, args: tuple, names_in: list[str], names_out: list[str], threads: int,
                 base: _OnnxRunner | None = None):
        self.names_in, self.threads, self.reexported = names_in, threads, True
        if base is not None and base.overridable and base.names_in == names_in:
            self.model_bytes, self.init_names, self.overridable = base.model_bytes, base.init_names, True
            self.session = self._session(module)
            if self._agrees(module, args):
                self.reexported = False
                return
            log.warning("onnx: new weights in the old graph disagree with torch; exporting again")
        # the exporter also merges equal initializers: the scaled copy keeps every tensor's own name
        self.model_bytes = export_onnx(_distinct(module), args, names_in, names_out)
        self.init_names = _initializer_names(self.model_bytes)
        self.session = self._session(module)
        self.overridable = self._agrees(module, args)
        if not self.overridable:
            self.model_bytes = export_onnx(module, args, names_in, names_out)
            self._weights, self._values = {}, []
            self.session = _ort_session(self.model_bytes, threads)
            if not self._agrees(module, args):
                raise RuntimeError("the ONNX graph disagrees with torch on the example input")

    def _session(self, module: nn.Module):
        import onnxruntime as ort

        state = module.state_dict()
        # the arrays must outlive the session: keep them
        self._weights = {n: np.ascontiguousarray(state[n].detach().cpu().numpy()) for n in self.init_names
                         if n in state}
        self._values = [(n, ort.OrtValue.ortvalue_from_numpy(a)) for n, a in self._weights.items()]
        return _ort_session(self.model_bytes, self.threads, self._values)

    def _agrees(self, module: nn.Module, args: tuple) -> bool:
        with torch.no_grad():
            want = module(*args)
        want = want if isinstance(want, (tuple, list)) else (want,)
        got = self(*args)
        tol = min(TOLERANCE.values())
        return all(g.shape == w.shape and float((g - w).abs().max()) <= tol * (1.0 + float(w.abs().max()))
                   for g, w in zip(got, want))

    def __call__(self, *args: Tensor) -> list[Tensor]:
        outs = self.session.run(None, {n: _np(a) for n, a in zip(self.names_in, args)})
        return [torch.from_numpy(o) for o in outs]


class _ScriptRunner:
    def __init__(self, module: nn.Module, args: tuple, names_in, names_out, threads: int, base=None):
        self.reexported = True
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(module.eval(), args, check_trace=False)
            self.fn = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
            for _ in range(2):  # the profiling executor specialises on the first runs
                self.fn(*args)

    def __call__(self, *args: Tensor) -> list[Tensor]:
        out = self.fn(*args)
        return list(out) if isinstance(out, (tuple, list)) else [out]


_RUNNERS = {"onnx": _OnnxRunner, "script": _ScriptRunner}
