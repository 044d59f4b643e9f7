"""Adaptation machinery on a tiny untrained avatar and a small synthetic recording."""

import numpy as np
import pytest
import torch

from models import bundle as B
from models.adapt import AdaptConfig, Recording, _DAModel, adapt, evaluate, holdout_split, verdict
from models.config import profile
from models.topology import canonical_landmarks_2d


def _recording(n=20, S=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(S).float(), torch.arange(S).float(), indexing="ij")
    crops, Ks = [], []
    base = torch.from_numpy(canonical_landmarks_2d()).float()
    for t in range(n):
        dx = 2.0 * np.sin(t / 4)
        cx, cy = S / 2 + dx, S / 2 + 2
        face = torch.exp(-(((xx - cx) / 14) ** 2 + ((yy - cy) / 18) ** 2))
        img = torch.stack([0.3 + 0.6 * face, 0.2 + 0.4 * face, 0.2 + 0.3 * face]) + 0.02 * torch.rand(3, S, S,
                                                                                                      generator=g)
        crops.append(img.clamp(0, 1))
        Ks.append(base * 0.33 * S + torch.tensor([cx, cy - 0.07 * S]))
    valid = torch.ones(n, dtype=torch.bool)
    valid[7] = False
    K = torch.stack(Ks)
    K[7] = float("nan")
    return Recording(torch.stack(crops), K, valid)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return B.build(profile("tiny"))


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_adapt_lowers_heldout_da_and_leaves_inputs_untouched(tiny):
    rec = _recording()
    enc0, col0 = _state(tiny.i2znet), _state(tiny.color)
    seen = []
    res = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, AdaptConfig(steps=40, lr=1e-3),
                progress=lambda s, n, info: seen.append((s, n, info["da"])))
    assert len(seen) == 40 and seen[-1][:2] == (40, 40)
    assert res.after["da"] < res.before["da"]
    assert res.accepted and res.weights is not None and res.verdict == "accepted"
    for k, v in tiny.i2znet.state_dict().items():
        assert torch.equal(v, enc0[k])
    for k, v in tiny.color.state_dict().items():
        assert torch.equal(v, col0[k])
    # weights are different from the live ones and load into a copy
    assert any(not torch.equal(res.weights["i2z"][k], enc0[k]) for k in enc0)


def test_da_losses_on_a_coarser_texel_grid(tiny):
    """The loss grid defaults to min(texture, crop); a coarser one area-averages the decoded
    texture and still trains (held-out L_DA drops)."""
    from models.adapt import loss_tex_size

    assert loss_tex_size(AdaptConfig(), profile("lite")) == 128  # 256 texture, 128 crop
    assert loss_tex_size(AdaptConfig(), tiny.cfg) == min(tiny.cfg.tex_size, tiny.cfg.crop_size)
    cfg = AdaptConfig(steps=30, lr=1e-3, tex_size=tiny.cfg.tex_size // 2)
    model = _DAModel(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, cfg)
    rec = _recording()
    G, H, T, T_obs, W = model.forward(rec.crops[:2], rec.keypoints[:2])
    assert T.shape[-1] == T_obs.shape[-1] == W.shape[-1] == tiny.cfg.tex_size // 2
    res = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, cfg)
    assert res.after["da"] < res.before["da"]


def test_cancel_returns_untouched_model(tiny):
    rec = _recording()
    enc0 = _state(tiny.i2znet)
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 3

    res = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, AdaptConfig(steps=50, lr=1e-3), cancel=cancel)
    assert res.verdict == "cancelled" and res.weights is None and not res.accepted and res.steps == 3
    for k, v in tiny.i2znet.state_dict().items():
        assert torch.equal(v, enc0[k])


def test_verdict_rejects_an_adaptation_that_made_things_worse(tiny):
    rec = _recording()
    cfg = AdaptConfig()
    model = _DAModel(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, cfg)
    before = evaluate(model, rec.subset(slice(16, None)))
    # a deliberately broken encoder: pose head pushed off by a large bias
    import copy

    bad = copy.deepcopy(tiny.i2znet)
    with torch.no_grad():
        bad.head_h[-1].bias += torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, -1.0])
    after = evaluate(_DAModel(bad, tiny.color, tiny.dam, tiny.topology, cfg), rec.subset(slice(16, None)))
    ok, reason = verdict(before, after, cfg)
    assert not ok and "did not improve" in reason


def test_adapt_without_usable_pairs_keeps_model(tiny):
    rec = _recording(n=10)
    rec = Recording(rec.crops, rec.keypoints, torch.zeros(10, dtype=torch.bool))
    res = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, AdaptConfig(steps=5))
    assert not res.accepted and res.verdict == "kept the current model" and "no pair" in res.reason


def test_image_fit_losses_are_the_terms_of_the_evaluated_da(tiny):
    """image_fit_losses averages every term of Eq. 5 over the pairs evaluate() uses."""
    from models.adapt import image_fit_losses

    rec = _recording()
    cfg = AdaptConfig()
    L = image_fit_losses(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, cfg)
    model = _DAModel(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, cfg)
    assert L["da"] == pytest.approx(evaluate(model, rec)["da"], rel=1e-5)
    w = cfg.weights
    assert L["da"] == pytest.approx(w.cftc * L["cftc"] + w.motc * L["motc"] + w.flrc * L["flrc"], rel=1e-4)


def test_training_windows_cover_consecutive_faces_only(tiny):
    from models.adapt import _pair_starts

    valid = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1], bool)
    assert _pair_starts(valid).tolist() == [0, 1, 2, 5, 6, 7, 8]
    assert _pair_starts(valid, 4).tolist() == [0, 5, 6]
    model = _DAModel(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, AdaptConfig())
    prev, cur = model._pairs(2, 4)  # two windows of 4 frames: 3 pairs each
    assert prev.tolist() == [0, 1, 2, 4, 5, 6] and cur.tolist() == [1, 2, 3, 5, 6, 7]


def test_temporal_term_is_part_of_the_training_loss(tiny):
    """With windows of 4 frames the step loss is L_DA + l_TEMP L_TEMP; with weight 0 the
    paper's pairs (no L_TEMP reported)."""
    import copy

    rec = _recording()
    dam = copy.deepcopy(tiny.dam)  # the untrained decoder's geometry layer starts at zero: give G some motion
    torch.nn.init.normal_(dam.decoder.geo[-1].weight, std=0.1)
    seen: dict[float, list] = {0.0: [], 100.0: []}
    for w, infos in seen.items():
        cfg = AdaptConfig(steps=2, temporal_weight=w, keep_rejected=True)
        adapt(tiny.i2znet, tiny.color, dam, tiny.topology, rec, cfg,
              progress=lambda s, n, i, infos=infos: infos.append(i))
    assert "temporal" not in seen[0.0][0]
    i = seen[100.0][0]
    assert i["temporal"] > 0 and i["da"] == pytest.approx(100 * i["cftc"] + 100 * i["motc"] + i["flrc"]
                                                         + 100 * i["temporal"], rel=1e-5)


def test_keypoint_jitter_measures_the_detectors_per_frame_noise():
    """White noise of sigma on smoothly moving points is read back as sigma; smooth motion
    alone as ~0; frames without a face are skipped."""
    from models.adapt import keypoint_jitter

    rng = np.random.default_rng(0)
    n = 200
    t = np.arange(n, dtype=np.float32)[:, None, None]
    base = np.asarray(canonical_landmarks_2d(), np.float32)[None] * 40 + 64  # (1, 68, 2)
    smooth = base + np.concatenate([3 * np.sin(t / 9), 2 * np.cos(t / 13)], -1)  # (n, 68, 2)
    valid = torch.ones(n, dtype=torch.bool)
    crops = torch.zeros(n, 3, 8, 8)
    for sigma in (0.5, 1.5):
        K = torch.from_numpy(smooth + sigma * rng.normal(size=smooth.shape)).float()
        K[50] = float("nan")
        v = valid.clone()
        v[50] = False
        assert keypoint_jitter(Recording(crops, K, v)) == pytest.approx(sigma, rel=0.15)
    assert keypoint_jitter(Recording(crops, torch.from_numpy(smooth).float(), valid)) < 0.05
    assert keypoint_jitter(Recording(crops[:2], torch.from_numpy(smooth[:2]).float(), valid[:2])) == 0.0
    K = torch.from_numpy(smooth + 1.0 * rng.normal(size=smooth.shape)).float()
    K[60, :10] = float("nan")  # points lost in a frame still marked as a face
    assert keypoint_jitter(Recording(crops, K, valid)) == pytest.approx(1.0, rel=0.15)


def test_z_keypoint_noise_is_the_recordings_jitter_times_the_setting(tiny, monkeypatch):
    """Training steps feed z keypoints with noise = z_keypoint_noise x measured jitter, H the
    raw points; the evaluations before and after see no noise (one noisy forward per step)."""
    from models.i2znet import I2ZNet

    rec = _recording(n=30)
    K = rec.keypoints + 0.8 * torch.randn(rec.keypoints.shape, generator=torch.Generator().manual_seed(1))
    rec = Recording(rec.crops, K, rec.valid)
    seen = []
    forward = I2ZNet.forward

    def spy(self, image, keypoints=None, return_heatmaps=False, keypoints_z=None):
        if keypoints_z is not None:
            seen.append((keypoints_z - keypoints)[~torch.isnan(keypoints)].std().item())
        return forward(self, image, keypoints, return_heatmaps, keypoints_z)

    monkeypatch.setattr(I2ZNet, "forward", spy)
    res = {w: adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec,
                    AdaptConfig(steps=3, z_keypoint_noise=w, keep_rejected=True)) for w in (0.0, 3.0)}
    assert res[3.0].keypoint_jitter == pytest.approx(0.8, rel=0.35)
    assert len(seen) == 3  # one noisy forward per training step, none in the evaluations
    assert np.mean(seen) == pytest.approx(3.0 * res[3.0].keypoint_jitter, rel=0.1)
    w0, w3 = res[0.0].weights["i2z"], res[3.0].weights["i2z"]
    assert any(not torch.equal(w0[k], w3[k]) for k in w0)


def test_paper_config_is_eq5_alone_and_hourglass_encoders_get_no_keypoint_noise(tiny, monkeypatch):
    from models.i2znet import I2ZNet

    p = AdaptConfig().paper()
    assert p.temporal_weight == 0 and p.z_keypoint_noise == 0 and p.head_h_lr_scale == 1
    assert p.weights == AdaptConfig().weights
    torch.manual_seed(0)
    hg = B.build(profile("tiny").replace(keypoint_source="hourglass"))
    rec = _recording(n=30)
    rec = Recording(rec.crops, rec.keypoints + 0.8 * torch.randn(rec.keypoints.shape), rec.valid)
    seen = []
    forward = I2ZNet.forward

    def spy(self, image, keypoints=None, return_heatmaps=False, keypoints_z=None):
        seen.append(keypoints_z is not None)
        return forward(self, image, keypoints, return_heatmaps, keypoints_z)

    monkeypatch.setattr(I2ZNet, "forward", spy)
    res = adapt(hg.i2znet, hg.color, hg.dam, hg.topology, rec, AdaptConfig(steps=2, keep_rejected=True))
    assert seen and not any(seen)  # the hourglass reads the image, not the points: nothing to perturb
    assert res.keypoint_jitter > 0.3  # still measured and reported


def test_pose_head_learns_at_its_own_rate(tiny):
    rec = _recording()
    w0 = {k: v.clone() for k, v in tiny.i2znet.state_dict().items()}
    frozen = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec,
                   AdaptConfig(steps=10, lr=1e-3, head_h_lr_scale=0.0, keep_rejected=True)).weights["i2z"]
    full = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec,
                 AdaptConfig(steps=10, lr=1e-3, head_h_lr_scale=1.0, keep_rejected=True)).weights["i2z"]
    head = [k for k in w0 if k.startswith("head_h.")]
    assert head and all(torch.equal(frozen[k], w0[k]) for k in head)  # factor 0: the pose head stays
    assert any(not torch.equal(full[k], w0[k]) for k in head)
    assert any(not torch.equal(frozen[k], w0[k]) for k in w0 if k.startswith("head_z."))  # the rest learns
    assert AdaptConfig().head_h_lr_scale < 1 and AdaptConfig().paper().head_h_lr_scale == 1.0


def test_verdict_landmark_branch_rejects_more_than_the_allowed_worsening():
    """A DA loss that improves is not enough: held-back landmarks may get at most
    ``max_landmark_worsening`` (5 %) worse, and the reason names the figures."""
    cfg = AdaptConfig()
    before = {"da": 1.0, "landmark_error": 2.0}
    ok, reason = verdict(before, {"da": 0.5, "landmark_error": 2.2}, cfg)  # 10 % worse
    assert not ok and reason == "landmark error on held-back frames got worse (2.00 -> 2.20 px)"
    ok, reason = verdict(before, {"da": 0.5, "landmark_error": 2.08}, cfg)  # 4 % worse: tolerated
    assert ok and reason.startswith("held-back DA loss 1 -> 0.5 (50.0 % better)")
    ok, _ = verdict(before, {"da": 0.5, "landmark_error": 2.08}, AdaptConfig(max_landmark_worsening=0.03))
    assert not ok
    ok, reason = verdict(before, {"da": 0.995, "landmark_error": 1.0}, cfg)  # landmarks better, DA gain 0.5 %
    assert not ok and "did not improve enough" in reason and "needs 1 %" in reason
    ok, reason = verdict(before, {"da": float("nan"), "landmark_error": 1.0}, cfg)
    assert not ok and reason.startswith("no held-back frame pair")


def test_holdout_split_keeps_pairs_with_a_face_when_the_recording_ends_without_one():
    """The default split is the last 20 % of frames; when that part has no pair with a face (as in
    a 10-frame recording whose last two frames had no detection), the split moves earlier so the
    held-back part holds 20 % of the usable pairs (at least one), and training keeps the rest."""
    valid = np.ones(10, bool)
    assert holdout_split(valid, 0.2) == 8  # the plain split: frames 8, 9 hold one pair
    valid[8:] = False
    n = holdout_split(valid, 0.2)
    starts = [t for t in range(9) if valid[t] and valid[t + 1]]  # 0..6
    held = [t for t in starts if t >= n]
    assert n == 6 and held == [6], (n, held)  # round(7 * 0.2) = 1 pair kept back
    assert any(t + 1 < n for t in starts)  # training still has pairs
    valid[:] = False
    assert holdout_split(valid, 0.2) == 8  # no pair at all: the plain split, the verdict says why
    long = np.ones(100, bool)
    long[81:] = False  # frame 80 alone in the plain held-back part: no pair
    n = holdout_split(long, 0.2)
    assert sum(1 for t in range(80) if t >= n) == round(80 * 0.2)
    long[81] = True  # one pair (80, 81) there: the plain split stands
    assert holdout_split(long, 0.2) == 80
    few = np.array([1, 1, 1, 0, 0], bool)  # pairs (0, 1) and (1, 2): moving would leave training none
    assert holdout_split(few, 0.2) == 4
    assert holdout_split(np.ones(10, bool), 0.0) == 10  # no hold-out asked: none
