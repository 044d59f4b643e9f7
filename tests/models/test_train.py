import numpy as np
import pytest
import torch

from models import bundle as B
from models.train import TrainConfig, train

from .fake_capture import write_fake_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return write_fake_lab(tmp_path_factory.mktemp("lab") / "cap")


def test_training_lowers_losses_and_writes_a_bundle(lab, tmp_path):
    cfg = TrainConfig(dam_steps=60, i2z_steps=60, batch=4, i2z_batch=4, checkpoint_every=20)
    bundle = train("tiny", [lab], tmp_path / "work", tmp_path / "bundle", cfg)
    hist_dam = bundle.manifest["provenance"]["final_losses"]
    assert hist_dam["dam"]["total"] > 0
    import torch

    st = torch.load(tmp_path / "work" / "dam.pt", weights_only=True)
    g = st["hist"]["total"]
    assert np.mean(g[-10:]) < 0.5 * np.mean(g[:10])
    st = torch.load(tmp_path / "work" / "i2z.pt", weights_only=True)
    h = st["hist"]["H"]  # landmark reprojection (Eq. 3) learns fastest on this small fake capture
    assert np.mean(h[-10:]) < 0.5 * np.mean(h[:10])
    assert np.isfinite(st["hist"]["total"]).all()
    assert (tmp_path / "work" / "dam_curves.png").stat().st_size > 1000
    loaded = B.load(tmp_path / "bundle")
    assert loaded.manifest["provenance"]["train_config"]["dam_steps"] == 60


def test_training_resumes_from_checkpoint(lab, tmp_path):
    cfg = TrainConfig(dam_steps=20, i2z_steps=10, batch=2, i2z_batch=2, checkpoint_every=10)
    train("tiny", [lab], tmp_path / "w", None, cfg)
    import torch

    assert torch.load(tmp_path / "w" / "dam.pt", weights_only=True)["step"] == 20
    cfg2 = TrainConfig(dam_steps=30, i2z_steps=20, batch=2, i2z_batch=2, checkpoint_every=10)
    train("tiny", [lab], tmp_path / "w", None, cfg2)
    st = torch.load(tmp_path / "w" / "dam.pt", weights_only=True)
    assert st["step"] == 30 and len(st["hist"]["total"]) == 30
    assert torch.load(tmp_path / "w" / "i2z.pt", weights_only=True)["step"] == 20


def test_learned_hourglass_is_supervised_with_landmark_heatmaps(lab, tmp_path):
    """Without pretrained FAN weights the hourglass stream learns landmark heatmaps from the
    studio's ground truth (plus Eq. 1-4); its heatmap loss must fall."""

    from models.config import profile

    cfg = TrainConfig(dam_steps=10, i2z_steps=80, batch=2, i2z_batch=4, checkpoint_every=40, i2z_lr=2e-3)
    train("tiny", [lab], tmp_path / "w", None, cfg, model_cfg=profile("tiny").replace(keypoint_source="hourglass"))
    heat = torch.load(tmp_path / "w" / "i2z.pt", weights_only=True)["hist"]["heat"]
    assert len(heat) == 80 and np.isfinite(heat).all()
    assert np.mean(heat[-10:]) < 0.7 * np.mean(heat[:10])


def test_retraining_i2znet_needs_the_dam_encoder(lab, tmp_path):
    """Training ships E_X in the bundle (the same weights as the DAM checkpoint's). A bundle
    saved without it (z_gt would come from random weights): train_i2z refuses until the DAM
    checkpoint is loaded."""
    from models.data import load_capture
    from models.train import LabData, load_dam_checkpoint, train_i2z

    cfg = TrainConfig(dam_steps=5, i2z_steps=2, batch=2, i2z_batch=2, checkpoint_every=5)
    train("tiny", [lab], tmp_path / "w", tmp_path / "b", cfg)
    b = B.load(tmp_path / "b")
    assert b.manifest["has_encoder"]
    ck = torch.load(tmp_path / "w" / "dam.pt", weights_only=True)["model"]
    enc = {k: v for k, v in b.dam.state_dict().items() if k.startswith("encoder.")}
    assert enc and all(torch.equal(v, ck[k]) for k, v in enc.items())
    bare = B.load(B.save(b, tmp_path / "bare", include_encoder=False))
    data = LabData([load_capture(lab)])
    with pytest.raises(ValueError, match="DAM encoder"):
        train_i2z(bare, data, cfg, tmp_path / "again")
    load_dam_checkpoint(bare, tmp_path / "w" / "dam.pt")
    hist = train_i2z(bare, data, cfg, tmp_path / "again")
    assert len(hist["z"]) == 2
