"""The latest-frame-wins mailbox: stale frames are dropped and counted, never queued."""

from __future__ import annotations

import threading
import time

from app.mailbox import Mailbox


def test_put_replaces_and_counts():
    box: Mailbox[int] = Mailbox()
    for i in range(5):
        box.put(i)
    assert box.take(0) == 4
    assert box.dropped == 4
    assert box.take(0.01) is None


def test_slow_consumer_sees_the_newest_frame_and_the_right_drop_count():
    box: Mailbox[int] = Mailbox()
    produced = 200
    seen: list[int] = []
    done = threading.Event()

    def producer():
        for i in range(produced):
            box.put(i)
            time.sleep(0.0005)
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    while not (done.is_set() and not box.peek_pending()):
        item = box.take(0.05)
        if item is not None:
            seen.append(item)
            time.sleep(0.01)  # a slow tracker
    t.join()
    assert seen == sorted(seen), "frames must come out in order"
    assert seen[-1] == produced - 1, "the consumer must end on the newest frame"
    assert len(seen) < produced / 3, "a slow consumer must skip frames, not queue them"
    assert box.dropped == produced - len(seen)
    assert box.put_count == produced and box.taken == len(seen)


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

    from app.loops import TrackingLoop

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
    from app.stall_probe import _explain

    gaps = [(1.000, 0.005), (1.060, 0.060), (1.100, 0.040)]  # (tick time, gap before it)
    events = [(1.010, 0.030, "View:Paint"), (1.030, 0.003, "Timer:Timer"), (1.070, 0.002, "X:Timer")]
    out = _explain(gaps, events, n=2)
    assert [o["gap_ms"] for o in out] == [60.0, 40.0]
    assert out[0]["handlers"] == [("View:Paint", 30.0), ("Timer:Timer", 3.0)] and out[0]["handlers_ms"] == 33.0
    assert out[1]["handlers"] == [("X:Timer", 2.0)]  # a 40 ms gap with 2 ms of handlers: waiting
