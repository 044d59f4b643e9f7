"""Bounded latency statistics (issue 16): numpy's percentiles on short runs, bounded memory on long ones."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.stats import StageStats, StreamingQuantiles


def _fill(values) -> StreamingQuantiles:
    s = StreamingQuantiles()
    for v in values:
        s.add(v)
    return s


@pytest.mark.parametrize("n", [1, 2, 7, 300, 2048])
def test_short_runs_are_numpys_percentiles(n):
    v = np.random.default_rng(n).lognormal(3.0, 0.6, n)
    s = _fill(v)
    for q in (0, 5, 50, 95, 100):
        assert s.percentile(q) == pytest.approx(np.percentile(v, q), rel=1e-12)
    assert s.mean == pytest.approx(v.mean(), rel=1e-12) and s.n == n


@pytest.mark.parametrize("dist", ["lognormal", "exponential", "uniform", "bimodal", "constant"])
def test_long_runs_within_one_percent(dist):
    rng = np.random.default_rng(1)
    n = 60_000
    v = {"lognormal": rng.lognormal(3.0, 0.5, n), "exponential": rng.exponential(10.0, n) + 0.05,
         "uniform": rng.uniform(1.0, 50.0, n), "constant": np.full(n, 7.25),
         "bimodal": np.concatenate([rng.normal(12.0, 1.0, n // 2), rng.normal(80.0, 5.0, n // 2)])}[dist]
    s = _fill(v)
    for q in (50, 95):
        assert s.percentile(q) == pytest.approx(np.percentile(v, q), rel=0.01), q
    assert s.percentile(0) == v.min() and s.percentile(100) == v.max()
    assert s.mean == pytest.approx(v.mean(), rel=1e-9) and s.n == n


def test_memory_is_bounded():
    s = StreamingQuantiles()
    rng = np.random.default_rng(2)
    sizes = []
    for _ in range(5):
        for v in rng.exponential(20.0, 50_000):
            s.add(v)
        sizes.append(s.nbytes())
    assert len(set(sizes)) == 1 and sizes[0] < 20_000  # the histogram, whatever the count
    assert s.n == 250_000


def test_out_of_range_values_are_clamped():
    s = _fill([0.0, 1e-9, 2e7] + [5.0] * 3000)
    assert s.percentile(0) == 0.0 and s.percentile(100) == 2e7
    assert s.percentile(50) == pytest.approx(5.0, rel=0.01)


def test_stage_stats_summary_keys_and_empty():
    st = StageStats()
    for i in range(5000):
        st.add({"detect": 1.0 + i % 10, "render": None, "total": float("nan") if i % 2 else 20.0})
    out = st.summary(("detect", "render", "total", "missing"))
    assert out["detect"]["n"] == 5000 and out["detect"]["mean"] == pytest.approx(5.5)
    assert out["detect"]["p50"] == pytest.approx(np.percentile(1.0 + np.arange(5000) % 10, 50), rel=0.01)
    assert out["total"]["n"] == 2500 and out["total"]["p95"] == pytest.approx(20.0, rel=0.01)
    for k in ("render", "missing"):
        assert out[k] == {"p50": None, "p95": None, "mean": None, "n": 0}
