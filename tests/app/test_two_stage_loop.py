"""The tracking loop's two-stage mode: frame t+1's stage 1 on a worker beside frame t's stage 2."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np

from app.pipeline.frame import Pipeline
from app.pipeline.loops import TrackingLoop
from app.pipeline.mailbox import Mailbox
from app.pipeline.packets import FramePacket
from models import bundle as B
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d
from models.tracker import Tracker


class Staged:
    """A pipeline that logs which thread ran each stage of each frame."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int, str]] = []

    def prepare(self, pkt):
        self.log.append(("prepare", pkt.index, threading.current_thread().name))
        return ("prepared", pkt.index)

    def process(self, pkt, dropped, prepared=None):
        p = prepared() if prepared is not None else self.prepare(pkt)
        assert p == ("prepared", pkt.index)
        self.log.append(("finish", pkt.index, threading.current_thread().name))
        return pkt


class Recording(Mailbox):
    """A mailbox that remembers how long each take was allowed to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def take(self, timeout=None):
        self.timeouts.append(timeout)
        return super().take(timeout)


def _pkt(i):
    return SimpleNamespace(index=i, t_capture=i / 60)


def test_a_fast_camera_overlaps_each_frames_stage_1_with_the_previous_finish_in_order():
    box, pipe, got = Recording(), Staged(), []
    loop = TrackingLoop(pipe, box, got.append, two_stage=True)  # type: ignore[arg-type]
    box.put(_pkt(0))
    assert loop.step(timeout=1.0) is None  # handed in; nothing to finish yet
    for i in range(1, 6):  # each next frame is already waiting when the step starts
        box.put(_pkt(i))
        assert loop.step(timeout=1.0).index == i - 1
    assert [p.index for p in got] == [0, 1, 2, 3, 4] and loop.overlapped == 5
    assert box.timeouts[1:] == [0.0] * 5  # with a frame in flight a step never waits for a camera
    loop.close()  # waits for frame 5's stage 1 and drops the frame
    assert loop._inflight is None and loop._pool is None
    assert all(name.startswith("track-stage1") for kind, _, name in pipe.log if kind == "prepare")
    assert [i for kind, i, _ in pipe.log if kind == "prepare"] == list(range(6))  # each frame once


def test_a_slow_camera_gets_each_frame_finished_at_the_next_step_without_waiting():
    box, pipe, got = Recording(), Staged(), []
    loop = TrackingLoop(pipe, box, got.append, two_stage=True)  # type: ignore[arg-type]
    for i in range(3):
        box.put(_pkt(i))
        assert loop.step(timeout=1.0) is None
        assert loop.step(timeout=1.0).index == i  # no next frame yet: finished alone
    assert box.timeouts == [1.0, 0.0] * 3 and loop.overlapped == 0
    loop.close()


def test_commands_run_only_with_no_frame_in_flight():
    box, pipe, got = Recording(), Staged(), []
    loop = TrackingLoop(pipe, box, got.append, two_stage=True)  # type: ignore[arg-type]
    box.put(_pkt(0))
    loop.step(timeout=1.0)
    seen = []
    loop.call_soon(lambda: seen.append((loop._inflight, len(got))))
    box.put(_pkt(1))
    loop.step(timeout=1.0)
    assert seen == [(None, 1)]  # frame 0 was finished before the command ran
    assert [p.index for p in got] == [0]
    loop.step(timeout=1.0)
    assert [p.index for p in got] == [0, 1]
    loop.close()


def test_the_real_pipeline_gives_the_same_frames_with_and_without_two_stage(tiny_bundle):
    pts = canonical_landmarks_2d() * 60 + np.array([80.0, 60.0])
    frames = [np.full((120, 160, 3), 90 + 5 * i, np.uint8) for i in range(8)]
    overlaps: list[int] = []

    def run(two: bool):
        tr = Tracker(B.load(tiny_bundle), "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: pts + i)),
                     gaze=False)
        box: Mailbox = Mailbox()
        got: list = []
        loop = TrackingLoop(Pipeline(tr), box, got.append, two_stage=two)
        for i, f in enumerate(frames):
            box.put(FramePacket(i, i / 30, f, 0.0))
            loop.step(timeout=1.0)
        while loop._inflight is not None:
            loop.step(timeout=0.0)
        loop.close()
        overlaps.append(loop.overlapped)
        return got

    seq, two = run(False), run(True)
    assert overlaps == [0, 7]  # every frame after the first had its stage 1 beside the one before
    assert [p.index for p in seq] == [p.index for p in two] == list(range(8))
    for a, b in zip(seq, two):
        assert np.allclose(a.result.landmarks, b.result.landmarks) and np.allclose(a.result.z, b.result.z)


def test_a_command_queued_while_a_stage_1_runs_waits_for_that_frame():
    """A command that arrives while the worker is inside a frame's stage 1 runs only after that frame
    is finished (a swap or a reset must never race the detector)."""
    box, got = Recording(), []
    entered, release = threading.Event(), threading.Event()

    class Blocking(Staged):
        def prepare(self, pkt):
            if pkt.index == 1:
                entered.set()
                release.wait(5.0)
            return super().prepare(pkt)

    pipe = Blocking()
    loop = TrackingLoop(pipe, box, got.append, two_stage=True)  # type: ignore[arg-type]
    box.put(_pkt(0))
    loop.step(timeout=1.0)
    box.put(_pkt(1))
    loop.step(timeout=1.0)  # frame 1's stage 1 starts on the worker and blocks; frame 0 is finished
    assert entered.wait(5.0)
    seen = []
    loop.call_soon(lambda: seen.append((loop.in_flight, [p.index for p in got])))
    threading.Timer(0.05, release.set).start()
    loop.step(timeout=0.0)  # the command: frame 1 is finished first, then it runs
    assert seen == [(False, [0, 1])]
    loop.close()


def test_a_failed_stage_1_is_reported_and_the_next_frames_go_on():
    box, got, errors = Recording(), [], []

    class Failing(Staged):
        def prepare(self, pkt):
            if pkt.index == 1:
                raise ValueError("detector broke")
            return super().prepare(pkt)

    loop = TrackingLoop(Failing(), box, got.append, errors.append, two_stage=True)  # type: ignore[arg-type]
    for i in range(4):
        box.put(_pkt(i))
        loop.step(timeout=1.0)
    loop.step(timeout=0.0)
    loop.close()
    assert [p.index for p in got] == [0, 2, 3] and len(errors) == 1 and "detector broke" in errors[0]


def test_the_rate_cap_skips_frames_in_two_stage_mode_too():
    box, got = Recording(), []
    loop = TrackingLoop(Staged(), box, got.append, two_stage=True)  # type: ignore[arg-type]
    loop.rate_cap = 30.0
    for i in range(20):  # a 60 FPS camera
        box.put(_pkt(i))
        loop.step(timeout=0.0)
    loop.step(timeout=0.0)
    loop.close()
    assert len(got) == 10 and loop.capped == 10
