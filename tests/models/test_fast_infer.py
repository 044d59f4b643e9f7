"""The fast inference path (models.fast_infer) against torch eager: outputs within the stated
tolerance, the torch fallback, and weight swaps reaching the fast path."""

import numpy as np
import pytest
import torch

from models import bundle as B
from models import fast_infer as FI
from models.config import profile
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d
from models.tracker import Tracker

HAVE_ORT = FI.onnxruntime_available()
FAST = [pytest.param("onnx", marks=pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime not installed")), "script"]


def _bundle(expr_dim: int = 0):
    torch.manual_seed(0)
    b = B.build(profile("tiny").replace(expr_dim=expr_dim))
    with torch.no_grad():  # an untrained decoder has zero geometry weights: make G depend on z
        for p in b.dam.decoder.geo.parameters():
            p.normal_(0, 0.05)
    for m in (b.i2znet, b.dam, b.color):
        m.eval()
    return b


def _inputs(b, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    S = b.cfg.crop_size
    x = torch.rand(n, S, S, 3, generator=g).permute(0, 3, 1, 2)  # channels-last strides, as the tracker's
    K = torch.rand(n, 68, 2, generator=g) * 0.6 * S + 0.2 * S
    return x, K


def _close(a, b, what):
    tol = FI.TOLERANCE[what]
    d = float((a.float() - b.float()).abs().max())
    assert d <= tol, f"{what}: max |diff| {d:.3g} > {tol}"


def _check(out, ref, expr=None, expr_ref=None):
    for k, a, r in zip("zHGT", out[:4], ref[:4]):
        if r is None:
            assert a is None
        else:
            assert a.shape == r.shape
            _close(a, r, k)
    if expr_ref is not None:
        _close(expr, expr_ref, "e")


def test_backend_choice_env_and_fallback(monkeypatch):
    monkeypatch.setenv(FI.ENV, "torch")
    assert FI.resolve_backend(None)[0] == "torch"
    monkeypatch.setenv(FI.ENV, "script")
    assert FI.resolve_backend(None) == ("script", "asked for (ROOMFIT_INFER=script)")
    assert FI.resolve_backend("script", "cuda")[0] == "torch"  # a CPU path
    assert FI.resolve_backend("bogus")[0] == "torch"
    monkeypatch.setattr(FI, "onnxruntime_available", lambda: False)
    be, why = FI.resolve_backend("onnx")
    assert be == "torch" and "not installed" in why and "[fast]" in why
    assert FI.resolve_backend("auto")[0] == "torch"
    monkeypatch.setattr(FI, "onnxruntime_available", lambda: True)
    assert FI.resolve_backend("auto") == ("onnx", FI.resolve_backend("onnx")[1].replace("=onnx", "=auto"))
    monkeypatch.delenv(FI.ENV)
    assert FI.resolve_backend(None)[0] == "onnx"  # default: auto


def test_torch_backend_is_the_eager_code():
    b = _bundle()
    f = FI.FastInfer(b, "torch")
    assert f.networks == ()
    x, K = _inputs(b)
    with torch.no_grad():
        z, H = b.i2znet(x, K)
        G, T = b.dam.decode(z, FI.view_direction(H))
    out = f.infer(x, K)
    for a, r in zip(out[:4], (z, H, G, b.color(T).clamp(0, 1))):
        assert torch.equal(a, r)


@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("expr_dim", [0, 5])
def test_every_network_matches_eager_tiny(backend, expr_dim):
    b = _bundle(expr_dim)
    x, K = _inputs(b)
    K[1, 7] = float("nan")  # a missing detector point: a zero heatmap, in the graph too
    ref = FI.FastInfer(b, "torch")
    want = ref.infer(x, K)
    f = FI.FastInfer(b, backend, networks=FI.NETWORKS, rebuild="sync")
    assert f.prepare() and not f.errors
    got = f.infer(x, K)
    assert f.served_by == {"encoder": backend, "geometry": backend, "texture": backend}
    _check(got, want, f.last_expr, ref.last_expr)
    assert (f.last_expr is None) == (expr_dim == 0)
    geo = f.infer(x, K, texture=False)  # the geometry-only decode
    assert geo[3] is None
    _close(geo[2], want[2], "G")


@pytest.mark.parametrize("backend", FAST)
def test_default_networks(backend):
    b = _bundle()
    f = FI.FastInfer(b, backend)
    assert f.networks == FI.DEFAULT_NETWORKS[backend]
    x, K = _inputs(b, n=1)
    _check(f.infer(x, K), FI.FastInfer(b, "torch").infer(x, K))
    assert f.served_by["encoder"] == backend


def test_a_graph_that_cannot_be_built_stays_in_torch(monkeypatch):
    b = _bundle()

    def broken(*a, **k):
        raise RuntimeError("no such op")

    monkeypatch.setitem(FI._RUNNERS, "script", broken)
    f = FI.FastInfer(b, "script", networks=FI.NETWORKS)
    x, K = _inputs(b)
    _check(f.infer(x, K), FI.FastInfer(b, "torch").infer(x, K))
    assert set(f.served_by.values()) == {"torch"} and "no such op" in f.errors[0]


def _tracker(b, backend):
    pts = canonical_landmarks_2d() * 60 + np.array([80.0, 60.0])
    rng = np.random.default_rng(0)
    det = TrackingLandmarks(OracleDetector(lambda i: pts + rng.normal(0, 0.3, pts.shape)))
    return Tracker(b, "cpu", detector=det, smoothing=0.0, infer_backend=backend)


def _frame(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8)


def _same(r, ref):
    for k, what in (("z", "z"), ("H_crop", "H"), ("G", "G"), ("texture", "T")):
        _close(torch.from_numpy(getattr(r, k)), torch.from_numpy(getattr(ref, k)), what)


def _changed(weights):
    w = {k: {n: v.clone() for n, v in d.items()} for k, d in weights.items()}
    with torch.no_grad():
        for v in w["i2z"].values():
            if v.is_floating_point():
                v.mul_(1.3)
        w["color"]["conv.weight"].mul_(0.7)
    return w


@pytest.mark.parametrize("backend", FAST)
def test_tracker_hot_swap_reaches_the_fast_path_within_one_frame(backend):
    b = _bundle()
    tr = _tracker(b, backend)
    tr.warm_up()
    ref = _tracker(_bundle(), "torch")  # same weights, eager
    frame = _frame()
    r0, q0 = tr.track(frame), ref.track(frame)
    assert tr.fast.served_by["encoder"] == backend
    _same(r0, q0)
    w = _changed(tr.weights())
    tr.load_adapted(w)
    ref.load_adapted(w)
    r1, q1 = tr.track(frame), ref.track(frame)  # the first frame after the swap: new weights already
    assert not np.allclose(r1.z, r0.z)
    _same(r1, q1)
    tr.fast.wait(60)  # the graph rebuilt in the background takes over
    r2, q2 = tr.track(frame), ref.track(frame)
    assert tr.fast.served_by["encoder"] == backend
    assert [n for n, _ in tr.fast.rebuilds].count("encoder") == 2
    _same(r2, q2)
    tr.revert()
    ref.revert()
    _same(tr.track(frame), ref.track(frame))


@pytest.mark.parametrize("backend", FAST)
def test_in_place_weight_change_is_seen(backend):
    b = _bundle()
    f = FI.FastInfer(b, backend, rebuild="sync")
    x, K = _inputs(b, n=1)
    f.infer(x, K)
    with torch.no_grad():
        b.i2znet.head_z[-1].bias.add_(0.5)  # an optimiser step on the live module
    _check(f.infer(x, K), FI.FastInfer(b, "torch").infer(x, K))
    assert f.served_by["encoder"] == backend and [n for n, _ in f.rebuilds].count("encoder") == 2


@pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime not installed")
def test_onnx_rebuild_reuses_the_graph_only_where_every_weight_is_overridable():
    """The geometry graph takes new weights as initializer overrides (no second export); the
    texture graph's last conv ignores overrides in ONNX Runtime, so it is exported again -- and
    either way the outputs are the new weights'."""
    b = _bundle()
    f = FI.FastInfer(b, "onnx", rebuild="sync")
    x, K = _inputs(b)
    f.infer(x, K)
    over = {n: f._runners[n][2].overridable for n in FI.NETWORKS}
    assert over["geometry"] and not over["texture"]
    with torch.no_grad():
        b.dam.decoder.geo[0].weight.mul_(1.2)
        b.dam.decoder.tex_out.weight.mul_(0.8)
    _check(f.infer(x, K), FI.FastInfer(b, "torch").infer(x, K))
    assert set(f.served_by.values()) == {"onnx"}
    got = dict(zip([n for n, _ in f.rebuilds][3:], f.reexports[3:]))
    assert got == {"geometry": False, "texture": True}


@pytest.mark.slow
@pytest.mark.parametrize("backend", FAST)
def test_default_avatar_lite_matches_eager(backend):
    b = B.load(B.DEFAULT_BUNDLE)
    for m in (b.i2znet, b.dam, b.color):
        m.eval()
    x, K = _inputs(b, n=1)
    ref = FI.FastInfer(b, "torch")
    want = ref.infer(x, K)
    f = FI.FastInfer(b, backend, networks=FI.NETWORKS, rebuild="sync")
    assert f.prepare() and not f.errors
    _check(f.infer(x, K), want, f.last_expr, ref.last_expr)
    _check(f.infer(x, K, texture=False), (want[0], want[1], want[2], None))
