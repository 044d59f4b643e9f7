"""Crowd encoder (issue 15): retargeted targets, the expression head, the build command."""

import numpy as np
import pytest
import torch

from models import bundle as B
from models.data import load_capture
from models.gaze import LOOK_NAMES
from models.train import LabData, TrainConfig, dam_codes, keypoint_sigma, train_i2z
from studio.capture import capture_lab
from studio.expressions import EXPRESSION_NAMES
from studio.performance import performance
from studio.retarget import arkit_names, avatar_codes

BLINK_SEED = 5  # performance("crowd", 16 frames) of this seed closes the eyes at frames 8-12


def test_retargeted_targets_equal_the_avatars_code_for_the_same_weights(tiny_head_bundle, tmp_path):
    path, _ = tiny_head_bundle
    b = B.load(path)
    cap = load_capture(capture_lab(0, 3, 4, tmp_path / "lab", size=96, tex_size=64, seed=3, kind="crowd"))
    z_lab = dam_codes(b, LabData([cap]))  # E_X on the avatar's own capture of these weights
    z_ret = avatar_codes(b.dam, 0, cap.gt["expr"], cap.gt["rot_world"], tex_size=64, views=3)
    assert torch.allclose(z_ret, z_lab, atol=1e-5)
    other = cap.gt["expr"].copy()
    other[:, EXPRESSION_NAMES.index("jaw_open")] = 1.0
    assert (avatar_codes(b.dam, 0, other, cap.gt["rot_world"], 64, views=3) - z_lab).abs().max() > 1e-3


def test_arkit_names_are_subject_sided():
    names = arkit_names(EXPRESSION_NAMES)
    assert len(set(names)) == len(names) == len(EXPRESSION_NAMES)
    # iBUG 36-41 (image left, studio "_L") is the subject's right eye
    assert names[EXPRESSION_NAMES.index("blink_L")] == "eyeBlinkRight"
    assert names[EXPRESSION_NAMES.index("smile_R")] == "mouthSmileLeft"


def test_per_region_keypoint_noise():
    sig = keypoint_sigma(TrainConfig(keypoint_noise=0.01, keypoint_noise_regions=(("eyes", 0.004),)))
    assert sig[36:48] == pytest.approx(0.004) and sig[0] == pytest.approx(0.01) and sig.shape == (68,)


def test_the_expression_head_learns_a_blink(tiny_head_bundle, tmp_path):
    from bench.build_crowd_encoder import with_expression_head

    perf = performance(BLINK_SEED, 16, kind="crowd")
    blink = perf.expr[:, EXPRESSION_NAMES.index("blink_L")]
    assert blink.max() > 0.9 and blink.min() < 0.05  # the clip has open and closed eyes
    path, _ = tiny_head_bundle
    b = with_expression_head(B.load(path), len(EXPRESSION_NAMES))
    cap = load_capture(capture_lab(1, 1, 16, tmp_path / "lab", size=96, tex_size=64, seed=BLINK_SEED,
                                   kind="crowd"))
    data = LabData([cap])
    e = torch.from_numpy(cap.gt["expr"]).float()
    cfg = TrainConfig(i2z_steps=120, i2z_batch=4, i2z_lr=2e-3, box_jitter=0.0, colour_jitter=0.0,
                      keypoint_noise=0.002, checkpoint_every=1000)
    train_i2z(b, data, cfg, tmp_path / "work", z_targets=dam_codes(b, data), e_targets=e)
    from models.train import make_crop

    with torch.no_grad():
        crops, kps = zip(*[make_crop(data.image(0, t, 0), cap.gt["landmarks"][t, 0], 64, None, cfg)[:2]
                           for t in range(16)])
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
        _, _, pred = b.i2znet.eval()(x, torch.from_numpy(np.stack(kps)).float(), return_expr=True)
    p = pred[:, EXPRESSION_NAMES.index("blink_L")].numpy()
    closed, opened = blink > 0.8, blink < 0.1
    assert p[closed].mean() > p[opened].mean() + 0.4, (p.round(2), blink.round(2))


def test_build_crowd_encoder_writes_a_bundle_whose_tracker_names_expressions(tiny_head_bundle, tmp_path):
    from bench.build_crowd_encoder import main
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import OracleDetector
    from models.tracker import Tracker

    path, _ = tiny_head_bundle
    crowd = capture_lab(1, 2, 4, tmp_path / "p1", size=96, tex_size=64, seed=2, kind="crowd")
    out = tmp_path / "crowd_bundle"
    assert main(["--bundle", str(path), "--crowd", str(crowd), "--out", str(out), "--work", str(tmp_path / "w"),
                 "--steps", "3", "--avatar-person", "0"]) == 0
    b = B.load(out)
    assert b.cfg.expr_dim == len(EXPRESSION_NAMES)
    assert b.manifest["expression_names"][EXPRESSION_NAMES.index("blink_R")] == "eyeBlinkLeft"
    assert b.manifest["provenance"]["crowd_encoder"]["crowd_persons"] == [1]
    old = B.load(path)
    for k, v in old.dam.state_dict().items():  # the DAM is the avatar's, untouched
        assert torch.equal(v, b.dam.state_dict()[k]), k
    cap = load_capture(crowd)
    pts = cap.gt["landmarks"][0, 0]
    tr = Tracker(b, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: pts)), expression_source="head")
    r = tr.track(np.ascontiguousarray(cap.images(0)[0][..., ::-1]), 0.0)
    K = len(EXPRESSION_NAMES)  # the head's weights, then the gaze's eight eyeLook* (models.gaze)
    assert r.found and r.expressions.shape == (K + len(LOOK_NAMES),)
    assert r.expression_names[:K] == tuple(b.manifest["expression_names"]) and r.expression_names[K:] == LOOK_NAMES
    assert np.all((r.expressions >= 0) & (r.expressions <= 1))
    tr2 = Tracker(b, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: pts)))  # default: landmark rule
    r2 = tr2.track(np.ascontiguousarray(cap.images(0)[0][..., ::-1]), 0.0)
    assert "eyeBlinkLeft" in r2.expression_names and r2.expression_names != r.expression_names
