"""A capture thread blocked in a source read stops when asked, and the window never destroys a
running capture QThread (that aborted the process: "QThread: Destroyed while thread 'capture' is
still running", exit code 134, docs/soak.md)."""

from __future__ import annotations

import threading
import time
from functools import partial

from app.pipeline.loops import CaptureLoop
from app.pipeline.mailbox import Mailbox
from app.sources.process import ProcessSource

from .conftest import wait_for
from .slow_sources import HangingSource


def _run(loop: CaptureLoop) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    t = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    t.start()
    return t, stop


def _until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_read_blocked_in_the_helper_process_ends_at_once():
    src = ProcessSource(partial(HangingSource, 64, 48, frames=1), 64, 48, name="hanging", start_timeout=120)
    mailbox, events = Mailbox(), []
    loop = CaptureLoop(src, mailbox, lambda kind, msg: events.append((kind, msg)))
    thread, stop = _run(loop)
    _until(lambda: mailbox.put_count >= 1, 120, "the first frame")
    time.sleep(0.3)  # the loop now waits in read() for a frame the helper never renders
    proc = src._proc
    assert thread.is_alive() and proc is not None and proc.poll() is None
    t0 = time.perf_counter()
    stop.set()
    loop.interrupt()
    thread.join(10)
    took = time.perf_counter() - t0
    assert not thread.is_alive() and took < 3.0, f"the capture loop took {took:.1f} s to stop"
    assert proc.poll() is not None, "the helper is killed and reaped, not left hanging"
    assert src._shm is None and src._conn is None
    assert events == [], "a stop is not reported as a lost or failed source"


def test_a_helper_that_is_still_starting_is_abandoned_at_once():
    src = ProcessSource(partial(HangingSource, 64, 48, start_s=120), 64, 48, name="slow start", start_timeout=120)
    loop = CaptureLoop(src, Mailbox(), lambda kind, msg: events.append((kind, msg)))
    events: list = []
    thread, stop = _run(loop)
    _until(lambda: src._proc is not None, 30, "the helper to be spawned")
    time.sleep(0.3)  # open() waits for the helper's "ok"
    proc = src._proc
    t0 = time.perf_counter()
    stop.set()
    loop.interrupt()
    thread.join(10)
    assert not thread.is_alive() and time.perf_counter() - t0 < 3.0
    assert proc.poll() is not None and events == []


def test_closing_the_window_while_the_helper_read_hangs_ends_every_thread(make_window, qtbot):
    src = ProcessSource(partial(HangingSource, 320, 240, frames=3), 320, 240, name="hanging", start_timeout=120)
    w = make_window(source_obj=src)
    session = w.session
    wait_for(qtbot, lambda: session.mailbox.put_count >= 3, timeout=120, what="the helper's frames")
    qtbot.wait(300)
    capture, proc = session.capture_thread, src._proc
    threads = (capture, session.tracking_thread, session.calib_thread)
    t0 = time.perf_counter()
    session.stop_source()  # what a source switch does
    took = time.perf_counter() - t0
    assert capture.isFinished() and took < 3.0, f"the capture thread took {took:.1f} s to stop"
    assert session._stopping == [] and proc.poll() is not None, "the helper is killed and reaped"
    w.close()  # shutdown returns only when every thread has ended (none is destroyed while running)
    assert all(t.isFinished() for t in threads)


def test_a_capture_thread_that_will_not_stop_is_kept_until_it_ends(make_window, qtbot):
    """A source that cannot be woken (no ``interrupt``): stop_source gives up waiting after
    ``stop_wait_s`` but keeps the QThread; shutdown waits for it to end."""
    src = HangingSource(320, 240, frames=2, hang_s=30)
    w = make_window(source_obj=src)
    session = w.session
    session.stop_wait_s = 0.2
    wait_for(qtbot, lambda: src.blocked.is_set(), timeout=60, what="a blocked read")
    thread = session.capture_thread
    session.stop_source()
    assert session.capture_thread is None and thread.isRunning(), "still blocked in the read"
    assert [t for _, t in session._stopping] == [thread], "kept, not destroyed while running"
    release = threading.Timer(1.0, src.release.set)
    release.start()
    w.close()  # shutdown waits for the stray thread
    release.join()
    assert thread.isFinished() and session._stopping == []


def test_sigint_closes_the_window_and_stops_every_thread(make_window, qtbot):
    """Ctrl+C used to raise KeyboardInterrupt inside a Qt slot (ignored: the window kept running),
    and a later exit destroyed the running threads (abort)."""
    import os
    import signal
    from types import SimpleNamespace

    from app.gui.main import quit_on_signals

    w = make_window()
    session = w.session
    wait_for(qtbot, lambda: session.mailbox.put_count >= 2, timeout=60, what="frames")
    threads = (session.capture_thread, session.tracking_thread, session.calib_thread)
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        quits: list = []  # not the real QApplication.quit: that would end later tests' event loops
        quit_on_signals(SimpleNamespace(quit=lambda: quits.append(1)), w)
        os.kill(os.getpid(), signal.SIGINT)
        wait_for(qtbot, lambda: session._shut_down, timeout=30, what="the window to close")
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    assert quits == [1] and not w.isVisible() and all(t.isFinished() for t in threads)
