"""The two helper processes of the window: the adaptation (app.pipeline.adapt_process) gives exactly
the in-thread result and honours cancel; the avatar drawer (app.pipeline.render_process) draws what
the in-thread drawer draws, one frame behind, and falls back when its process dies."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch

from app.pipeline.adapt_process import AdaptProcess
from app.pipeline.drawing import FrameDrawer
from app.pipeline.packets import ViewOptions
from app.pipeline.render_process import ProcessDrawer
from models import bundle as B
from models.adapt import AdaptConfig, Recording, adapt


@pytest.fixture(scope="module")
def tiny(tiny_bundle):
    return B.load(tiny_bundle)


def _recording(S: int, n: int = 12) -> Recording:
    g = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (n, 3, S, S), generator=g).float() / 255  # 8-bit pixels, as recorded
    K = torch.rand(n, 68, 2, generator=g) * S * 0.6 + S * 0.2
    valid = torch.ones(n, dtype=torch.bool)
    valid[5] = False
    return Recording(crops, K, valid)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)


def test_adapt_process_matches_the_in_thread_adaptation_and_cancels(tiny):
    rec = _recording(tiny.cfg.crop_size)
    cfg = AdaptConfig(steps=4, keep_rejected=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, cfg)
    finally:
        torch.set_num_threads(threads)
    p = AdaptProcess(nice=0, threads=1)
    try:
        steps: list[int] = []
        child = p.adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, cfg, lambda s, n, i: steps.append(s))
        assert steps == [1, 2, 3, 4] and child.history == local.history
        assert child.verdict == local.verdict and _same(child.before, local.before) and _same(child.after, local.after)
        for part in ("i2z", "color"):
            assert all(torch.equal(local.weights[part][k], child.weights[part][k]) for k in local.weights[part])
        out = p.adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, AdaptConfig(steps=10_000),
                      cancel=lambda: True)
        assert out.verdict == "cancelled" and out.weights is None and p.alive  # the process stays for the next one
    finally:
        p.close()
    assert not p.alive


def _pose(tiny):
    with torch.no_grad():
        G, T = tiny.dam.decode(torch.zeros(1, tiny.cfg.z_dim), torch.tensor([[0.0, 0.0, 1.0]]))
    return G[0].numpy(), T[0].numpy(), np.array([220.0, 0.1, 0.3, 0.0, 160.0, 120.0])


@pytest.fixture()
def drawers(tiny):
    """(in-thread FrameDrawer, ProcessDrawer), both released afterwards; skipped without OpenGL."""
    local = FrameDrawer(tiny.topology)
    if not local.gl:
        local.release()
        pytest.skip(f"no OpenGL here: {local.notice}")
    drawer = ProcessDrawer(tiny.topology)
    yield local, drawer
    drawer.release()
    local.release()


def test_process_drawer_draws_like_the_in_thread_drawer_one_frame_behind(tiny, drawers):
    local, drawer = drawers
    G, T, H = _pose(tiny)
    opts = dataclasses.replace(ViewOptions(), avatar_size=128)
    assert drawer.gl, drawer.notice
    first = drawer.avatar(G, H, T, opts)  # nothing drawn yet: the backdrop
    assert np.array_equal(first, local.backdrop(128))
    want = local.avatar(G, H, T, opts)
    assert np.array_equal(drawer.avatar(G, H, T, opts, wait=True), want)
    H2 = H + np.array([0, 0, 0.4, 0, 0, 0])
    deadline = time.time() + 10
    img = drawer.avatar(G, H2, None, opts)  # texture None: the child keeps the one it has
    while np.array_equal(img, want) and time.time() < deadline:
        time.sleep(0.01)
        img = drawer.avatar(G, H2, None, opts)
    assert np.array_equal(img, local.avatar(G, H2, T, opts)), "the next call returns the turned head"
    frame = np.full((240, 320, 3), 90, np.uint8)
    wire = dataclasses.replace(opts, wireframe=True)
    assert np.array_equal(drawer.camera(frame, G, H, None, None, wire), local.camera(frame, G, H, None, None, wire))
    drawer._proc.kill()  # the render process dies: drawing goes on in this thread, with a notice
    drawer._proc.wait()
    again = drawer.avatar(G, H, T, opts)
    assert again.shape == (128, 128, 3) and "render process" in drawer.notice
    assert np.array_equal(drawer.avatar(G, H, T, opts), want)


def test_process_drawer_falls_back_when_the_helper_reports_an_error(tiny, drawers):
    """A request the helper cannot draw (a mesh of the wrong size) comes back as an error while
    the next frame is handed over: drawing moves into this thread, with a notice, and the
    next avatar is the in-thread drawer's."""
    local, drawer = drawers
    G, T, H = _pose(tiny)
    opts = dataclasses.replace(ViewOptions(), avatar_size=128)
    drawer.avatar(G, H, T, opts, wait=True)
    drawer.avatar(G[:10], H, T, opts)  # in flight: the helper fails on it
    img = drawer.avatar(G, H, T, opts, wait=True)
    assert "render process failed" in drawer.notice and drawer._conn is None
    assert np.array_equal(img, local.avatar(G, H, T, opts))


def test_gl_helpers_get_one_llvmpipe_thread_and_a_lower_priority_unless_the_user_chose(monkeypatch):
    from app.ipc import child_env

    monkeypatch.delenv("LP_NUM_THREADS", raising=False)
    monkeypatch.delenv("ROOMFIT_HELPER_NICE", raising=False)
    env = child_env(gl=True)
    assert env["LP_NUM_THREADS"] == "1" and env["ROOMFIT_HELPER_NICE"] == "5"
    assert "LP_NUM_THREADS" not in child_env(gl=False)  # the adaptation helper draws nothing
    assert "ROOMFIT_HELPER_NICE" not in child_env(gl=False)  # it lowers its own priority further
    monkeypatch.setenv("LP_NUM_THREADS", "4")
    assert child_env(gl=True)["LP_NUM_THREADS"] == "4"
    assert child_env()["PYTHONPATH"]


def test_drawing_helper_runs_at_the_lower_priority(tiny, drawers):
    """The avatar helper process really runs niced (read back from /proc)."""
    import os

    if os.environ.get("ROOMFIT_HELPER_NICE", "5") != "5" or os.nice(0) > 14:
        pytest.skip("ROOMFIT_HELPER_NICE is set here, or the tests already run at nice > 14")
    _, proc_drawer = drawers
    pid = proc_drawer._proc.pid if proc_drawer._proc is not None else None
    if pid is None or not os.path.exists(f"/proc/{pid}/stat"):
        pytest.skip("the avatar helper did not start here (no GL)")
    deadline = time.time() + 30
    while time.time() < deadline:
        nice = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])
        if nice == os.nice(0) + 5:
            break
        time.sleep(0.1)
    assert nice == os.nice(0) + 5
