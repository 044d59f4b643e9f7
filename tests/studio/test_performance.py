"""Seeded performances: shapes, determinism, ranges, blink timing, smoothness."""

from __future__ import annotations

import numpy as np
import pytest

from studio.expressions import EXPRESSION_NAMES
from studio.performance import KINDS, performance


def test_shapes_and_determinism(head):
    p = performance(7, 300)
    assert p.expr.shape == (300, len(EXPRESSION_NAMES)) and p.expr.dtype == np.float32
    assert p.rot.shape == (300, 3) and p.shift.shape == (300, 2) and p.fps == 30.0
    assert p.names == tuple(str(n) for n in head.extras["blendshape_names"])  # same order as the asset
    q = performance(7, 300)
    for a, b in ((p.expr, q.expr), (p.rot, q.rot), (p.shift, q.shift)):
        np.testing.assert_array_equal(a, b)
    r = performance(8, 300)
    assert np.abs(r.rot - p.rot).max() > 0.01 and np.abs(r.expr - p.expr).max() > 0.1
    with pytest.raises(ValueError):
        performance(0, 10, kind="dance")


@pytest.mark.parametrize("kind", KINDS)
def test_ranges_and_speeds(kind):
    p = performance(3, 60 * 30, kind=kind)
    assert np.isfinite(p.expr).all() and p.expr.min() >= 0 and p.expr.max() <= 1
    deg = np.degrees(p.rot)
    assert np.abs(deg[:, 1]).max() <= 45.01 and np.abs(deg[:, 0]).max() <= 25.01 and np.abs(deg[:, 2]).max() <= 10.01
    vel = np.abs(np.diff(deg, axis=0)).max(0) * p.fps
    assert (vel < 200).all(), f"head turns too fast: {vel} deg/s"
    assert np.abs(p.shift).max() < 0.15
    if kind in ("mixed", "head"):
        assert np.abs(deg[:, 1]).max() > 25 and np.abs(deg[:, 0]).max() > 8
    if kind in ("mixed", "talk"):
        jaw = p.expr[:, EXPRESSION_NAMES.index("jaw_open")]
        assert jaw.std() > 0.05 and np.abs(np.diff(jaw)).max() < 0.35


def test_blinks_every_few_seconds_and_short():
    p = performance(11, 60 * 30)
    b = p.expr[:, EXPRESSION_NAMES.index("blink_L")]
    closed = b > 0.5
    starts = np.where(closed[1:] & ~closed[:-1])[0]
    ends = np.where(~closed[1:] & closed[:-1])[0]
    assert 10 <= len(starts) <= 25
    gaps = np.diff(starts) / p.fps
    assert gaps.min() > 2.5 and gaps.max() < 6.0
    dur = (ends[: len(starts)] - starts[: len(ends)]) / p.fps
    assert dur.max() <= 0.2 and b.max() > 0.95


def test_talking_drives_the_mouth():
    p = performance(5, 20 * 30, kind="talk")
    jaw = p.expr[:, EXPRESSION_NAMES.index("jaw_open")]
    peaks = ((jaw[1:-1] > jaw[:-2]) & (jaw[1:-1] >= jaw[2:]) & (jaw[1:-1] > 0.08)).sum()
    assert peaks > 30  # syllables at a few per second over 20 s
    assert p.expr[:, EXPRESSION_NAMES.index("smile_L")].max() == 0  # talk kind: no smiles


def test_the_winks_performance_blinks_one_eye_about_half_the_time():
    p = performance(3, 900, kind="winks")  # 30 s
    L, R = p.expr[:, p.names.index("blink_L")], p.expr[:, p.names.index("blink_R")]
    both = (L > 0.5) & (R > 0.5)
    one = (np.abs(L - R) > 0.5)
    events = lambda m: int(np.sum(np.diff(m.astype(int)) == 1))  # noqa: E731
    assert events(both) >= 3 and events(one) >= 3, (events(both), events(one))
    assert np.array_equal(performance(3, 900, kind="winks").expr, p.expr)  # deterministic
