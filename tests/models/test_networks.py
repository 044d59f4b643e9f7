import dataclasses
import logging

import pytest
import torch

from models import pretrained
from models.backbones import VGG16Features, keypoints_to_heatmaps
from models.config import PROFILES, ModelConfig, profile
from models.dam import DeepAppearanceModel
from models.i2znet import I2ZNet


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def test_profiles_are_frozen_and_round_trip():
    for name in PROFILES:
        cfg = profile(name)
        assert ModelConfig.from_dict(cfg.to_dict()) == cfg
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.z_dim = 3  # frozen
    assert profile("lite").crop_size in range(128, 161) and profile("lite").tex_size == 256
    assert (profile("paper").crop_size, profile("paper").tex_size, profile("paper").z_dim) == (256, 1024, 128)
    with pytest.raises(ValueError, match="unknown profile"):
        profile("huge")


@pytest.mark.parametrize("name", ["tiny", "lite"])
def test_shapes_batch2(name):
    cfg = profile(name)
    net = I2ZNet(cfg)
    x = torch.rand(2, 3, cfg.crop_size, cfg.crop_size)
    K = torch.rand(2, 68, 2) * cfg.crop_size
    z, H = net(x, K)
    assert z.shape == (2, cfg.z_dim) and H.shape == (2, 6)
    dam = DeepAppearanceModel(cfg, torch.zeros(500, 3))
    G, T = dam.decode(z, torch.tensor([[0.0, 0.0, -1.0]] * 2))
    assert G.shape == (2, 500, 3) and T.shape == (2, 3, cfg.tex_size, cfg.tex_size)
    assert float(T.detach().min()) >= 0.0 and float(T.detach().max()) <= 1.0
    mu, logstd = dam.encode(G, T)
    assert mu.shape == logstd.shape == (2, cfg.z_dim)
    (z.sum() + H.sum() + T.mean() + G.mean()).backward()


def test_detector_source_needs_keypoints():
    net = I2ZNet(profile("tiny"))
    with pytest.raises(ValueError, match="keypoints"):
        net(torch.rand(1, 3, 64, 64))


def test_z_can_come_from_other_keypoints_than_H():
    """keypoints_z (the adaptation's jitter augmentation) changes z only; H still reads the
    first keypoint set, and keypoints_z = keypoints is the plain forward."""
    torch.manual_seed(0)
    net = I2ZNet(profile("tiny")).eval()
    torch.nn.init.normal_(net.head_h[-1].weight, std=0.1)  # the pose head starts at zero
    S = net.cfg.crop_size
    img = torch.rand(2, 3, S, S)
    kp = torch.rand(2, 68, 2) * S
    kp2 = kp + 3.0 * torch.randn_like(kp)
    with torch.no_grad():
        z, H = net(img, kp)
        z_same, H_same = net(img, kp, keypoints_z=kp)
        z_mix, H_mix = net(img, kp, keypoints_z=kp2)
        z2, H2 = net(img, kp2)
    assert torch.allclose(z_same, z) and torch.allclose(H_same, H)
    assert torch.allclose(H_mix, H, atol=1e-6) and torch.allclose(z_mix, z2, atol=1e-6)
    assert not torch.allclose(z_mix, z, atol=1e-4) and not torch.allclose(H2, H, atol=1e-4)


def test_variants_build():
    base = profile("tiny")
    for kw in (dict(use_skip=False, keypoint_source="none"), dict(use_skip=True, keypoint_source="none"),
               dict(keypoint_source="hourglass")):
        net = I2ZNet(base.replace(**kw))
        z, H = net(torch.rand(1, 3, 64, 64))
        assert z.shape == (1, 16)


def test_texture_depends_on_view_geometry_does_not():
    cfg = profile("tiny")
    dam = DeepAppearanceModel(cfg, torch.zeros(100, 3))
    torch.nn.init.normal_(dam.decoder.geo[-1].weight, std=0.1)
    z = torch.randn(1, cfg.z_dim)
    G1, T1 = dam.decode(z, torch.tensor([[0.0, 0.0, -1.0]]))
    G2, T2 = dam.decode(z, torch.tensor([[0.7, 0.0, -0.7]]))
    assert torch.equal(G1, G2)
    assert not torch.allclose(T1, T2)


def test_heatmaps_peak_at_keypoints():
    K = torch.tensor([[[10.0, 20.0], [33.0, 5.0]]])
    hm = keypoints_to_heatmaps(K, 16, 4.0, 1.0)
    for p in range(2):
        r, c = divmod(int(hm[0, p].argmax()), 16)
        assert abs((c + 0.5) * 4 - 0.5 - K[0, p, 0]) <= 2 and abs((r + 0.5) * 4 - 0.5 - K[0, p, 1]) <= 2
    assert float(keypoints_to_heatmaps(torch.full((1, 1, 2), float("nan")), 8, 4.0, 1.0).abs().sum()) == 0


@pytest.mark.slow
def test_paper_profile_batch1_without_weights(empty_hub, caplog):
    cfg = profile("paper")
    with caplog.at_level(logging.WARNING):
        net = I2ZNet(cfg).eval()
    text = caplog.text
    assert "VGG16" in text and "trained from scratch" in text and pretrained.VGG16_FILE in text
    assert all(not s.loaded for s in net.status)
    assert any(p.requires_grad for p in net.backbone.parameters())  # not frozen: nothing was loaded
    with torch.no_grad():
        z, H = net(torch.rand(1, 3, 256, 256))
        dam = DeepAppearanceModel(cfg, torch.zeros(7306, 3)).eval()
        G, T = dam.decode(z, torch.tensor([[0.0, 0.0, -1.0]]))
    assert z.shape == (1, 128) and H.shape == (1, 6)
    assert G.shape == (1, 7306, 3) and T.shape == (1, 3, 1024, 1024)


def test_vgg_weights_load_from_cache_and_freeze(empty_hub):
    empty_hub.mkdir(parents=True)
    src = VGG16Features()
    state = {k: v for k, v in src.state_dict().items() if k.startswith("features.")}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # a real torchvision file has more keys
    torch.save(state, empty_hub / pretrained.VGG16_FILE)
    cfg = profile("tiny").replace(backbone="vgg16", pretrained=True, freeze_backbone=True, keypoint_source="none")
    net = I2ZNet(cfg)
    assert net.status[0].loaded
    assert torch.equal(net.backbone.features[0].weight, src.features[0].weight)
    assert not any(p.requires_grad for p in net.backbone.parameters())
    net.train()
    assert not net.backbone.training


def test_corrupt_cache_file_is_reported_not_crashing(empty_hub, caplog):
    empty_hub.mkdir(parents=True)
    (empty_hub / pretrained.VGG16_FILE).write_bytes(b"not a checkpoint")
    cfg = profile("tiny").replace(backbone="vgg16", pretrained=True, keypoint_source="none")
    with caplog.at_level(logging.WARNING):
        net = I2ZNet(cfg)
    assert not net.status[0].loaded and "could not be read" in caplog.text
