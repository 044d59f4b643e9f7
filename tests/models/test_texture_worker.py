"""The texture decoded off the tracking thread (models.texture_worker, Tracker(texture_async=True))."""

import gc
import threading
import weakref

import numpy as np
import torch

from models.texture_worker import TextureWorker

from .oracle_tracker import oracle_tracker


def _frames(n):
    return [np.full((120, 160, 3), 100 + 5 * i, np.uint8) for i in range(n)]


def test_the_newest_request_wins_and_runs_on_the_worker_thread():
    gate, seen = threading.Event(), []

    def decode(z, view):
        seen.append((float(z[0, 0]), threading.current_thread().name))
        gate.wait(5)
        return np.full((3, 2, 2), float(z[0, 0]), np.float32)

    w = TextureWorker(decode)
    try:
        w.submit(0, 1, torch.ones(1, 4), torch.zeros(1, 3))
        for _ in range(200):  # the worker has taken request 1 and waits on the gate
            if seen:
                break
            threading.Event().wait(0.01)
        w.submit(0, 2, torch.full((1, 4), 2.0), torch.zeros(1, 3))
        w.submit(0, 3, torch.full((1, 4), 3.0), torch.zeros(1, 3))  # replaces 2 before it started
        gate.set()
        assert w.wait_idle(5)
        gen, index, tex = w.latest()
        assert (gen, index) == (0, 3) and float(tex[0, 0, 0]) == 3.0
        assert [v for v, _ in seen] == [1.0, 3.0] and w.replaced == 1 and w.decoded == 2
        assert all(name == "texture-decode" for _, name in seen)
        assert not tex.flags.writeable  # shared by the frames that show it
    finally:
        w.close()
    assert not w.alive


def test_a_failed_decode_keeps_the_last_texture_and_the_worker_goes_on():
    calls = []

    def decode(z, view):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return np.zeros((3, 2, 2), np.float32) + len(calls)

    w = TextureWorker(decode)
    try:
        for i in range(3):
            w.submit(0, i, torch.zeros(1, 4), torch.zeros(1, 3))
            assert w.wait_idle(5)
            if i == 1:
                assert w.latest()[1] == 0  # the failed decode left the first texture
        assert w.latest()[1] == 2 and len(w.errors) == 1 and "out of memory" in w.errors[0]
    finally:
        w.close()


def test_async_tracker_gives_the_same_geometry_and_textures_decoded_for_its_own_frames():
    frames = _frames(10)
    ref_tr = oracle_tracker(texture_every=1)
    ref = [ref_tr.track(f, i / 30) for i, f in enumerate(frames)]
    tr = oracle_tracker(texture_every=1)
    tr.set_texture_async(True)
    decoded = {}  # frame index -> the sync tracker's texture for that frame
    try:
        out = []
        for i, f in enumerate(frames):
            r = tr.track(f, i / 30)
            out.append(r)
            assert tr.wait_texture(5)  # let each request finish: the texture then trails by one frame
            decoded[i] = ref[i].texture
        assert tr._worker.decoded == len(frames) - 1  # the first texture is decoded in track itself
        for i, (r, e) in enumerate(zip(out, ref)):
            assert np.array_equal(r.G, e.G) and np.array_equal(r.landmarks, e.landmarks)
            want = decoded[max(i - 1, 0)]  # frame 0 its own, then the previous frame's
            np.testing.assert_allclose(r.texture, want, atol=1e-6)
    finally:
        tr.close()
    assert tr._worker is None and not tr.texture_async


def test_a_reset_drops_a_texture_decoded_for_the_old_track():
    tr = oracle_tracker(texture_every=1)
    tr.set_texture_async(True)
    try:
        frames = _frames(4)
        tr.track(frames[0], 0.0)
        tr.track(frames[1], 1 / 30)  # asks the worker for frame 1's texture
        assert tr.wait_texture(5)
        old = tr._worker.latest()
        tr.reset()  # a new track: that texture belongs to the old one
        r = tr.track(frames[2], 2 / 30)
        assert r.texture is not old[2] and tr._texture_index == r.index  # decoded afresh, in track
    finally:
        tr.close()


def test_the_worker_does_not_keep_the_tracker_alive():
    tr = oracle_tracker()
    tr.set_texture_async(True)
    worker = tr._worker
    ref = weakref.ref(tr)
    del tr
    gc.collect()
    assert ref() is None
    worker._thread.join(5)
    assert not worker.alive  # the finalizer closed it


def test_only_a_texture_of_this_generation_and_newer_than_the_one_in_use_is_adopted():
    class Stub:
        def __init__(self, got):
            self.got = got

        def latest(self):
            return self.got

    tr = oracle_tracker()
    tex = np.zeros((3, 2, 2), np.float32)
    tr._texture_gen, tr._texture_index, tr._texture = 5, 10, None
    tr._adopt_texture(Stub((4, 99, tex)))  # decoded before a reset or a colour swap
    assert tr._texture is None
    tr._adopt_texture(Stub((5, 9, tex)))  # older than the texture in use
    assert tr._texture is None
    tr._adopt_texture(Stub((5, 11, tex)))
    assert tr._texture is tex and tr._texture_index == 11


def test_a_failing_worker_hands_the_decode_back_to_the_tracking_thread_and_says_why():
    frames = _frames(6)
    tr = oracle_tracker(texture_every=1)
    tr.set_texture_async(True)
    calls = []
    real = tr.fast.texture

    def broken(z, view):  # fails on the worker only (the tracking thread's decode goes through it too)
        if threading.current_thread().name != "texture-decode":
            return real(z, view)
        calls.append(1)
        raise RuntimeError("driver went away")

    try:
        tr.track(frames[0], 0.0)  # the first texture: decoded in track
        tr.fast.texture = broken  # the worker's decodes fail from now on
        tr.track(frames[1], 1 / 30)
        assert tr.wait_texture(5) and calls and tr._worker.failures == 1
        before = tr._texture
        r = tr.track(frames[2], 2 / 30)
        assert tr._worker is None and "driver went away" in tr.notice  # back in the tracking thread
        assert r.texture is not before and tr._texture_index == r.index  # and decoded there, this frame
        r2 = tr.track(frames[3], 3 / 30)
        assert tr._texture_index == r2.index
    finally:
        tr.close()
