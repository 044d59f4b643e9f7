"""Measure how responsive the window stays: the longest GUI event-loop stall, per phase.

``python -m app.tools.stall_probe [--bundle PATH] [--source synthetic:tungsten] [--seconds 10] [--steps 100]
[--idle 5] [--trace-events] [--json OUT]``

A 5 ms QTimer runs in the GUI thread under ``app.exec()``; every gap between two ticks is
recorded while the app only tracks (idle), while a calibration records, and while it
adapts. A gap longer than 5 ms is time the event loop could not run (a stall). Also reports
the tracking FPS/latency the window saw in each phase. ``--trace-events`` times every event the
GUI thread handles and names, for each of the longest stalls, the handlers that ran inside it:
a stall with no long handler inside was the thread waiting for a core or the GIL (the timing
itself costs a Python call per event, so traced runs stall somewhat more).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np

from ..pipeline.defaults import CALIB_STEPS
from ..pipeline.packets import STAGES


def _summary(gaps: list[tuple[float, float]], pkts: list) -> dict:
    g = 1e3 * np.asarray([x for _, x in gaps]) if gaps else np.zeros(1)
    worst = max(gaps, key=lambda tg: tg[1]) if gaps else (0.0, 0.0)
    lat = [p.timings.get("latency", np.nan) for p in pkts]
    span = pkts[-1].t_done - pkts[0].t_done if len(pkts) > 1 else 0.0
    return {"max_stall_ms": float(g.max()), "max_stall_at_s": worst[0] - gaps[0][0] if gaps else 0.0,
            "stalls_over_50ms": int((g > 50).sum()), "p99_gap_ms": float(np.percentile(g, 99)),
            "p50_gap_ms": float(np.percentile(g, 50)), "ticks": len(gaps),
            "fps": (len(pkts) - 1) / span if span > 0 else 0.0,
            "latency_p50_ms": float(np.nanpercentile(lat, 50)) if lat else None,
            "latency_p95_ms": float(np.nanpercentile(lat, 95)) if lat else None,
            "dropped": (pkts[-1].dropped - pkts[0].dropped) if pkts else 0,
            "stage_p50_ms": {k: float(np.nanpercentile([p.timings.get(k, np.nan) for p in pkts], 50))
                             for k in STAGES} if pkts else {}}


def _explain(gaps: list[tuple[float, float]], events: list[tuple[float, float, str]], n: int = 5) -> list[dict]:
    """The ``n`` longest gaps and the event handlers (>= 2 ms) that ran inside each."""
    out = []
    for t_end, gap in sorted(gaps, key=lambda tg: -tg[1])[:n]:
        inside = [(name, round(1e3 * d, 1)) for t0, d, name in events if t0 >= t_end - gap - 1e-4 and t0 < t_end]
        busy = sum(d for _, d in inside)
        out.append({"gap_ms": round(1e3 * gap, 1), "handlers_ms": round(busy, 1), "handlers": inside[:8]})
    return out


def _timed_app_class():
    """A QApplication whose ``notify`` records outermost events that took >= 2 ms."""
    from PySide6.QtWidgets import QApplication

    class TimedApp(QApplication):
        def __init__(self, argv):
            super().__init__(argv)
            self.events: list[tuple[float, float, str]] = []
            self._depth = 0

        def notify(self, receiver, event):
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                self._depth -= 1
                d = time.perf_counter() - t0
                if self._depth == 0 and d >= 0.002:
                    self.events.append((t0, d, f"{type(receiver).__name__}:{event.type().name}"))

    return TimedApp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=None)
    ap.add_argument("--source", default="synthetic:tungsten")
    ap.add_argument("--seconds", type=float, default=10.0, help="calibration recording length")
    ap.add_argument("--steps", type=int, default=CALIB_STEPS, help="adaptation steps")
    ap.add_argument("--idle", type=float, default=5.0, help="seconds of plain tracking measured first")
    ap.add_argument("--no-avatar", action="store_true", help="do not render the avatar view (isolates GL cost)")
    ap.add_argument("--calib-in-thread", action="store_true", help="adapt in a thread of the app (comparison)")
    ap.add_argument("--trace-events", action="store_true", help="time the GUI thread's event handlers")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    if a.trace_events and QApplication.instance() is None:
        QApplication = _timed_app_class()  # noqa: N806

    from ..cli import build_parser
    from ..gui.main import create_window, scratch_state

    app = QApplication.instance() or QApplication(sys.argv[:1])
    cli = ["--source", a.source] + (["--bundle", a.bundle] if a.bundle else []) + \
        (["--calib-in-thread"] if a.calib_in_thread else [])
    scratch = tempfile.TemporaryDirectory(prefix="roomfit-tool-")  # never the user's settings/profiles
    settings, store = scratch_state(scratch.name)
    w = create_window(build_parser().parse_args(cli), cameras=[], settings=settings, store=store)
    w.settings.set("calib/steps", a.steps)
    if a.no_avatar:
        from dataclasses import replace

        w.session.set_options(replace(w.session.pipeline.options, avatar=False))
    w.show()
    phase = {"name": "warmup", "t": time.perf_counter()}
    gaps: dict[str, list[tuple[float, float]]] = {}  # (time, gap)
    pkts: dict[str, list] = {}
    last = [time.perf_counter()]
    done: list = []

    def tick() -> None:
        now = time.perf_counter()
        gaps.setdefault(phase["name"], []).append((now, now - last[0]))
        last[0] = now
        name, since = phase["name"], now - phase["t"]
        if name == "warmup" and len(pkts.get("warmup", [])) > 30:
            phase.update(name="idle", t=now)
        elif name == "idle" and since > a.idle:
            phase.update(name="recording", t=now)
            w.controller.start_calibration(a.seconds)
        elif name == "recording" and w.session.calibration == "adapting":
            phase.update(name="adapting", t=now)
        elif name == "adapting" and done:
            phase.update(name="after", t=now)
            QTimer.singleShot(500, app.quit)

    w.session.packet.connect(lambda p: pkts.setdefault(phase["name"], []).append(p))
    w.session.calib_done.connect(done.append)
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    QTimer.singleShot(int(1e3 * (a.idle + a.seconds + 900)), app.quit)  # safety net
    app.exec()
    report = {"source": a.source, "bundle": w.session.setup.choice.description, "steps": a.steps,
              "calibration_in": "thread" if a.calib_in_thread else "process",
              "record_seconds": a.seconds, "platform": app.platformName(),
              "calibration": done[0].summary() if done else None,
              **{ph: _summary(gaps.get(ph, []), pkts.get(ph, [])) for ph in ("idle", "recording", "adapting")}}
    if a.trace_events:
        report["longest_stalls"] = {ph: _explain(gaps.get(ph, []), getattr(app, "events", []))
                                    for ph in ("idle", "recording", "adapting")}
    w.close()
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
