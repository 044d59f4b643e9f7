"""Two-stage tracking (models.two_stage): the same answers as Tracker.track, in order, one step late."""

import threading

import numpy as np
import pytest

from models.two_stage import TwoStage

from .oracle_tracker import oracle_tracker


def _frames(n):
    return [np.full((120, 160, 3), 100 + 5 * i, np.uint8) for i in range(n)]


def test_two_stage_gives_the_sequential_answers_in_order_including_lost_faces():
    frames = _frames(8)
    seq = oracle_tracker(lost=(3, 4))
    ref = [seq.track(f, i / 30) for i, f in enumerate(frames)]
    tr = oracle_tracker(lost=(3, 4))
    two = TwoStage(tr)
    got = []
    threads = []
    real = tr.prepare

    def spy(*a, **k):
        threads.append(threading.current_thread().name)
        return real(*a, **k)

    tr.prepare = spy
    try:
        assert two.step(frames[0], 0.0, 0) is None  # nothing to finish yet
        for i in range(1, len(frames)):
            tag, r = two.step(frames[i], i / 30, i)
            got.append((tag, r))
        got.append(two.flush())
        assert two.flush() is None and two.in_flight == 0
    finally:
        two.close()
    assert [t for t, _ in got] == list(range(len(frames)))
    assert len(threads) == len(frames) and all(n.startswith("track-prepare") for n in threads)  # on the worker
    for (_, r), e in zip(got, ref):
        assert r.found == e.found and r.index == e.index
        if e.found:
            assert np.array_equal(r.landmarks, e.landmarks) and np.array_equal(r.z, e.z)
            assert np.array_equal(r.G, e.G) and np.array_equal(r.expressions, e.expressions)
    assert not got[3][1].found and not got[4][1].found


def test_a_stage_one_error_comes_back_when_its_frame_is_finished_and_drop_forgets_frames_in_flight():
    tr = oracle_tracker()
    two = TwoStage(tr)
    calls = []

    def bad():
        calls.append(1)
        raise RuntimeError("camera glitch")

    try:
        two.submit(_frames(1)[0], 0.0, "a", before=bad)
        with pytest.raises(RuntimeError, match="camera glitch"):
            two.finish_oldest()
        two.submit(_frames(1)[0], 0.1, "b")
        two.submit(_frames(1)[0], 0.2, "c")
        assert two.in_flight == 2
        two.drop()
        assert two.in_flight == 0 and two.finish_oldest() is None
        assert tr.index == 2  # the dropped frames' stage 1 did run ("a" failed before its stage 1)
    finally:
        two.close()
    assert calls == [1]
