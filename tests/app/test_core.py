"""Non-GUI pieces: the capture loop, the process-isolated synthetic source, the calibration
recorder, atomic room profiles, CLI parsing."""

from __future__ import annotations

import threading
from functools import partial

import numpy as np
import pytest
import torch

from app.cli import build_parser
from app.pipeline.calibration_recorder import CalibrationRecorder
from app.pipeline.loops import CaptureLoop
from app.pipeline.mailbox import Mailbox
from app.pipeline.packets import FramePacket
from app.pipeline.profiles import ProfileError, ProfileStore
from app.sources import ArraySource, SourceSpec, SourceUnavailable
from app.sources.process import ProcessSource
from app.sources.synthetic import SyntheticSource
from models.tracker import FrameResult


def test_source_specs():
    assert SourceSpec.parse("webcam") == SourceSpec("webcam", index=0)
    assert SourceSpec.parse("webcam:2").index == 2
    assert SourceSpec.parse("video:/a/b.mp4").path == "/a/b.mp4"
    assert SourceSpec.parse("synthetic").room == "lab" and SourceSpec.parse("synthetic:window").room == "window"
    for bad in ("webcam:x", "video", "camera"):
        with pytest.raises(ValueError):
            SourceSpec.parse(bad)
    a = build_parser().parse_args(["--headless", "--frames", "5", "--json", "o.json", "--tracks", "t.npz",
                                   "--calibrate", "3", "--device", "cpu", "--profile", "Office"])
    assert (a.headless, a.frames, a.calibrate, a.device, a.profile) == (True, 5, 3.0, "cpu", "Office")


def test_capture_loop_mirrors_frames_and_ground_truth():
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, 0] = 255
    truth = np.zeros((1, 68, 2), np.float32)
    truth[..., 0] = 2.0
    box: Mailbox[FramePacket] = Mailbox()
    loop = CaptureLoop(ArraySource([img], [truth], paced=False), box, mirror=lambda: True, max_frames=1)
    loop.run(threading.Event())
    pkt = box.take(1)
    assert pkt.image[:, -1].min() == 255 and pkt.image[:, 0].max() == 0
    assert np.allclose(pkt.truth[..., 0], 17.0)


def test_process_source_renders_the_actor_in_a_child_process():
    src = ProcessSource(partial(SyntheticSource, "window", width=160, height=120), 160, 120, name="synthetic:window")
    src.open()
    try:
        grabs = [src.read() for _ in range(3)]
    finally:
        src.close()
    assert [g.position for g in grabs] == [0, 1, 2]
    assert grabs[0].image.shape == (120, 160, 3) and grabs[0].truth.shape == (1, 68, 2)
    assert not np.array_equal(grabs[0].image, grabs[2].image)
    bad = ProcessSource(partial(SyntheticSource, "moon"), 160, 120, name="synthetic:moon")
    with pytest.raises(SourceUnavailable, match="unknown room 'moon'"):
        bad.open()


def _result(found: bool, box=(10.0, 10.0, 40.0)) -> FrameResult:
    if not found:
        return FrameResult(0, 0.0, False, "no face in view")
    pts = np.full((68, 2), 30.0, np.float32)
    return FrameResult(0, 0.0, True, box=np.array(box), detected=pts)


def test_recorder_makes_crops_and_breaks_pairs_at_gaps():
    rec = CalibrationRecorder(seconds=1.0, crop_size=16, max_gap=2)
    img = np.full((64, 64, 3), 100, np.uint8)
    for i, t, found in ((0, 0.0, True), (1, 0.1, True), (2, 0.2, False), (6, 0.6, True), (7, 1.2, True)):
        done = rec.add(FramePacket(i, t, img, 0.0), _result(found))
    assert done
    r = rec.recording()
    # frames 0, 1, (2: no face), gap of 3 -> placeholder, 6, 7
    assert r.crops.shape == (6, 3, 16, 16) and r.keypoints.shape == (6, 68, 2)
    assert r.valid.tolist() == [True, True, False, False, True, True]
    assert torch.isnan(r.keypoints[2]).all() and rec.skipped == 3
    assert torch.allclose(r.keypoints[0], torch.full((68, 2), (30.0 - 10.0) * 16 / 40.0))
    assert 0.35 < float(r.crops[0].mean()) < 0.45


def test_profiles_are_atomic_and_never_half_written(tmp_path, monkeypatch):
    store = ProfileStore(tmp_path)
    w = {"i2z": {"a": torch.ones(2)}, "color": {"b": torch.zeros(3)}}
    info = store.save("Living room", w, "fp1", {"note": 1})
    loaded, _ = store.load("Living room", "fp1")
    assert torch.equal(loaded["i2z"]["a"], w["i2z"]["a"])
    with pytest.raises(ProfileError, match="another avatar"):
        store.load("Living room", "fp2")

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", crash)
    with pytest.raises(OSError):
        store.save("Kitchen", w, "fp1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [info.slug], "no temp or partial folder left"
    assert [p.name for p in store.list()] == ["Living room"]
    assert store.unique_name("Living room") == "Living room (2)"


def test_pipeline_sheds_avatar_and_texture_work_while_adapting(tiny_bundle):
    """While a calibration adapts: a new avatar image every 2nd frame, the texture every 4th;
    the camera view and the tracker's pose every frame; both restored afterwards."""
    from app.pipeline.defaults import CALIB_AVATAR_EVERY, CALIB_TEXTURE_EVERY
    from app.pipeline.frame import Pipeline
    from app.pipeline.packets import FramePacket
    from models import bundle as B
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import OracleDetector
    from models.topology import canonical_landmarks_2d
    from models.tracker import Tracker

    class CountingDrawer:
        notice = ""

        def __init__(self):
            self.camera_calls = self.avatar_calls = 0

        def camera(self, rgb, *a):
            self.camera_calls += 1
            return rgb

        def avatar(self, *a, **k):
            self.avatar_calls += 1
            return np.full((8, 8, 3), self.avatar_calls, np.uint8)

    pts = canonical_landmarks_2d() * 60 + np.array([80.0, 60.0])
    tr = Tracker(B.load(tiny_bundle), "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: pts)),
                 texture_every=2)
    d = CountingDrawer()
    p = Pipeline(tr, d)
    frame = np.full((120, 160, 3), 100, np.uint8)

    def run(n, start):
        return [p.process(FramePacket(start + i, float(start + i) / 30, frame, 0.0)) for i in range(n)]

    run(4, 0)
    assert d.avatar_calls == 4
    p.set_adapting(True)
    assert tr.texture_every == CALIB_TEXTURE_EVERY and p.avatar_every == CALIB_AVATAR_EVERY == 2
    d.avatar_calls = d.camera_calls = 0
    out = run(8, 4)
    assert d.avatar_calls == 4 and d.camera_calls == 8
    assert all(o.avatar_rgb is not None for o in out)  # the frames in between show the last image
    fresh = sum(a.result.texture is not b.result.texture for a, b in zip(out, out[1:]))
    assert fresh == 2  # 8 frames: a fresh texture every 4th
    p.set_adapting(False)
    assert tr.texture_every == 2 and p.avatar_every == 1
    d.avatar_calls = 0
    run(3, 12)
    assert d.avatar_calls == 3


def test_measuring_tools_keep_their_settings_and_profiles_in_a_scratch_folder(tmp_path):
    """stall_probe and snapshot open the real window; what it saves must land in their scratch
    folder, never in the user's settings or profile store."""
    from app.gui.main import scratch_state

    settings, store = scratch_state(str(tmp_path))
    settings.set("calib/steps", 7)
    settings.q.sync()
    assert (tmp_path / "settings.ini").exists() and settings.get("calib/steps") == 7
    assert store.root == tmp_path / "profiles"
