"""The latest-frame-wins mailbox: stale frames are dropped and counted, never queued."""

from __future__ import annotations

import itertools
import threading
import time

from app.pipeline.mailbox import Mailbox


def test_put_replaces_and_counts():
    box: Mailbox[int] = Mailbox()
    for i in range(5):
        box.put(i)
    assert box.take(0) == 4
    assert box.dropped == 4
    assert box.take(0.01) is None


def test_slow_consumer_sees_the_newest_frame_and_the_right_drop_count():
    """A camera thread delivers bursts of frames while the tracker works on one; the schedule is
    set by events, not sleeps, so counts are exact on any machine (timing: bench/TIMING.md)."""
    box: Mailbox[int] = Mailbox()
    bursts = [1, 3, 5, 2, 7, 1, 4]  # frames the camera delivers while one frame is tracked
    go, delivered = threading.Semaphore(0), threading.Semaphore(0)

    def camera():
        i = 0
        for n in bursts:
            go.acquire()
            for _ in range(n):
                box.put(i)
                i += 1
            delivered.release()

    t = threading.Thread(target=camera)
    t.start()
    seen = []
    for _ in bursts:
        go.release()  # "tracking one frame" while the camera delivers a burst
        assert delivered.acquire(timeout=10)
        seen.append(box.take(0))
    t.join(10)
    ends = list(itertools.accumulate(bursts))
    assert seen == [e - 1 for e in ends], "each take is the newest frame of its burst, in order"
    produced = ends[-1]
    assert box.dropped == produced - len(seen) == sum(n - 1 for n in bursts)
    assert box.put_count == produced and box.taken == len(seen)
    assert box.take(0) is None and not box.peek_pending(), "nothing queued behind the newest"


def test_a_waiting_consumer_wakes_on_the_next_frame():
    box: Mailbox[int] = Mailbox()
    waiting, got = threading.Event(), []

    def tracker():
        waiting.set()
        got.append(box.take(30.0))

    t = threading.Thread(target=tracker)
    t.start()
    assert waiting.wait(10)
    box.put(41)
    t.join(30)
    assert not t.is_alive() and got == [41] and box.dropped == 0


def test_each_take_returns_the_newest_at_that_moment():
    box: Mailbox[int] = Mailbox()
    box.put(1)
    box.put(2)
    assert box.take(0) == 2
    box.put(3)
    assert box.take(0) == 3
    assert box.dropped == 1


def test_lossless_put_waits_for_the_consumer():
    box: Mailbox[int] = Mailbox()
    got: list[int] = []

    def consumer():
        while len(got) < 20:
            item = box.take(1.0)
            if item is not None:
                got.append(item)
                time.sleep(0.002)

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(20):
        assert box.put(i, wait=True, timeout=2.0)
    t.join(5)
    assert got == list(range(20)) and box.dropped == 0


def test_close_wakes_waiters():
    box: Mailbox[int] = Mailbox()
    out = []
    t = threading.Thread(target=lambda: out.append(box.take(5.0)))
    t.start()
    time.sleep(0.05)
    box.close()
    t.join(1.0)
    assert not t.is_alive() and out == [None]
    assert box.put(1) is False


def test_tracking_rate_cap_skips_frames_of_a_faster_camera_only():
    """While a calibration adapts the tracking loop tracks at most rate_cap frames per second:
    frames of a faster camera are skipped (and counted); a camera at the cap loses none."""
    from types import SimpleNamespace

    from app.pipeline.loops import TrackingLoop

    class Echo:  # a pipeline that "tracks" instantly
        def process(self, pkt, dropped):
            return pkt

    def run(fps: float, cap: float | None, n: int = 60) -> tuple[int, TrackingLoop]:
        box: Mailbox = Mailbox()
        got: list = []
        loop = TrackingLoop(Echo(), box, got.append)  # type: ignore[arg-type]
        loop.rate_cap = cap
        for i in range(n):  # camera timestamps, handed over one by one
            box.put(SimpleNamespace(index=i, t_capture=i / fps))
            loop.step(timeout=0)
        return len(got), loop

    assert run(60, None)[0] == 60
    tracked, loop = run(60, 30.0)
    assert tracked == 30 and loop.capped == 30, "a 60 FPS camera is tracked at 30 FPS"
    assert run(30, 30.0)[0] == 60 and run(25, 30.0)[0] == 60, "a camera at or below the cap loses nothing"


def test_stall_probe_names_the_handlers_inside_the_longest_gaps():
    from app.tools.stall_probe import _explain

    gaps = [(1.000, 0.005), (1.060, 0.060), (1.100, 0.040)]  # (tick time, gap before it)
    events = [(1.010, 0.030, "View:Paint"), (1.030, 0.003, "Timer:Timer"), (1.070, 0.002, "X:Timer")]
    out = _explain(gaps, events, n=2)
    assert [o["gap_ms"] for o in out] == [60.0, 40.0]
    assert out[0]["handlers"] == [("View:Paint", 30.0), ("Timer:Timer", 3.0)] and out[0]["handlers_ms"] == 33.0
    assert out[1]["handlers"] == [("X:Timer", 2.0)]  # a 40 ms gap with 2 ms of handlers: waiting
