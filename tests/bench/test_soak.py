"""``python -m bench.soak``: a short headless soak must not grow per frame (issue 16).

The app tracks a looping 20-frame clip as fast as it can (``--fast``: lossless, unpaced, so a
loaded 2-core machine still tracks a few hundred frames) for 15 s (plus ~10-20 s of start-up).
The bound is on the growth of the app's RSS per tracked frame over the second half of the
tracking. The code before the fix (the tracker's arrays of every frame kept for ``--tracks``
even when no tracks were asked for, and every latency value kept for the JSON summary) grew by
~36-43 KB a frame in this test (checked by running it on that code: it failed); the fixed code
grows ~0.5 KB a frame here, RSS noise. The bound: the fitted growth over the second half is
below 6 KB a frame or 1.5 MB, whichever is more (at least 60 frames, so the old code's > 2.5 MB).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.soak import main, slope
from tests.clips import write_video

KB_PER_FRAME_BOUND = 6.0  # the old code: ~36-43, the fixed one ~0.5
NOISE_KB = 1536.0  # growth always allowed over the second half: RSS moves by ~0.5 MB steps (the old code: > 2.5 MB)


@pytest.fixture(scope="module")
def clip_and_bundle(tmp_path_factory):
    from models import bundle as B
    from models.config import profile

    d = tmp_path_factory.mktemp("soak")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        bundle = B.save(B.build(profile("tiny"), load_pretrained=False), d / "tiny")
    return write_video(d / "clip.mp4", n=20), bundle


def test_short_soak_does_not_grow_per_frame(clip_and_bundle, tmp_path):
    clip, bundle = clip_and_bundle
    out = tmp_path / "soak"
    rc = main(["--minutes", "0.25", "--source", f"video:{clip}", "--fast", "--no-render", "--bundle", str(bundle),
               "--interval", "1", "--warmup", "6", "--grace", "60", "--out", str(out)])
    rep = json.loads((out / "soak.json").read_text())
    assert rc == 0 and rep["exit_code"] == 0, (out / "app.log").read_text()[-2000:]
    for f in ("soak.md", "soak.png", "progress.jsonl", "app.json"):
        assert (out / f).exists(), f
    s = rep["summary"]
    assert s["processes"] == ["app"] and s["samples"] >= 15
    assert rep["app"]["frames"] > 60 and rep["machine"]["torch"] and rep["machine"]["cpu_count"]
    # growth per tracked frame over the second half: load on the machine changes the FPS, not this
    t0, t1 = s["tracking_from_s"], s["tracking_to_s"]
    half = [x for x in rep["samples"] if (t0 + t1) / 2 <= x["t"] <= t1 and x["frames"]]
    t = np.array([x["t"] for x in half])
    frames = half[-1]["frames"] - half[0]["frames"]
    assert frames >= 60, f"too few frames tracked in the second half ({frames}) to measure growth"
    rss = np.array([x["procs"]["app"]["rss_mb"] for x in half])
    growth_kb = slope(t, rss) / 60.0 * (t[-1] - t[0]) * 1024.0
    per_frame = growth_kb / frames
    allowed_kb = max(KB_PER_FRAME_BOUND * frames, NOISE_KB)
    print(f"second half: {frames} frames, RSS {rss[0]:.1f} -> {rss[-1]:.1f} MB, fit {growth_kb:.0f} KB "
          f"({per_frame:.2f} KB/frame), allowed {allowed_kb:.0f} KB")
    assert growth_kb < allowed_kb, f"RSS grows {per_frame:.1f} KB per frame ({growth_kb:.0f} KB in {frames} frames)"
    assert s["fds_end"] <= s["fds_after_warmup"] + 2  # no descriptor leak either
