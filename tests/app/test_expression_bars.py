"""The window's live expression bars: what a result's named weights become on screen."""

import numpy as np

from app.gui.views.expression_bars import MAIN, pick


def test_pick_reads_names_merges_sides_and_marks_the_unestimated():
    names = ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "browDownLeft", "browDownRight")
    v = pick(names, np.array([0.9, 0.1, 0.5, 0.2, 0.4]))
    assert v["eyeBlinkLeft"] == 0.9 and v["eyeBlinkRight"] == 0.1 and v["jawOpen"] == 0.5
    assert abs(v["browDown"] - 0.3) < 1e-9  # sided weights averaged into the unsided bar
    assert v["cheekPuff"] is None  # not estimated: drawn greyed, no bar
    assert set(v) == set(MAIN)
    assert all(x is None for x in pick((), None).values())


def test_window_bars_follow_the_tracked_packets(make_window, qtbot):
    w = make_window()
    seen = []
    w.session.packet.connect(lambda p: seen.append(p.result))
    qtbot.waitUntil(lambda: any(r.found and r.expressions is not None for r in seen), timeout=60000)
    r = next(r for r in reversed(seen) if r.found and r.expressions is not None)
    qtbot.waitUntil(lambda: w.expressions.found, timeout=20000)
    shown = w.expressions.values
    assert any(v is not None for v in shown.values())
    for n, v in pick(tuple(r.expression_names), r.expressions).items():
        assert (v is None) == (shown[n] is None), n
    w.expressions.repaint()  # paints without error at the window's size
