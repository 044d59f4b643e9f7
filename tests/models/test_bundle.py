import json

import pytest
import torch

from models import bundle as B
from models.config import profile


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    b = B.build(profile("tiny"))
    torch.nn.init.normal_(b.dam.decoder.geo[-1].weight, std=0.05)
    with torch.no_grad():
        b.color.conv.weight.mul_(1.1)
    path = B.save(b, tmp_path / "avatar", provenance={"test": True})
    return b, path


def _outputs(b, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, 64, 64, generator=g)
    K = torch.rand(1, 68, 2, generator=g) * 64
    b.i2znet.eval()
    with torch.no_grad():
        z, H = b.i2znet(x, K)
        G, T = b.dam.decode(z, torch.tensor([[0.0, 0.0, -1.0]]))
        return z, H, G, b.color(T)


def test_round_trip_identical_outputs(saved):
    b, path = saved
    b2 = B.load(path)
    for a, c in zip(_outputs(b), _outputs(b2)):
        assert torch.equal(a, c)
    assert b2.manifest["provenance"] == {"test": True}
    assert b2.cfg == b.cfg and b2.topology.digest() == b.topology.digest()


def test_missing_folder_and_files(tmp_path, saved):
    with pytest.raises(B.BundleError, match="not found"):
        B.load(tmp_path / "nope")
    _, path = saved
    (path / "weights.safetensors").unlink()
    with pytest.raises(B.BundleError, match="no weights"):
        B.load(path)


def test_wrong_format_version(saved):
    _, path = saved
    m = json.loads((path / "manifest.json").read_text())
    m["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(B.BundleError, match="format version 99"):
        B.load(path)


def test_corrupted_weights(saved):
    _, path = saved
    data = bytearray((path / "weights.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "weights.safetensors").write_bytes(bytes(data))
    with pytest.raises(B.BundleError, match="corrupted"):
        B.load(path)


def test_truncated_manifest(saved):
    _, path = saved
    (path / "manifest.json").write_text("{ not json")
    with pytest.raises(B.BundleError, match="not valid JSON"):
        B.load(path)


def test_config_mismatch(saved):
    _, path = saved
    m = json.loads((path / "manifest.json").read_text())
    m["config"]["z_dim"] = 32
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(B.BundleError, match="do not fit its config"):
        B.load(path)


def test_topology_mismatch(saved):
    _, path = saved
    m = json.loads((path / "manifest.json").read_text())
    m["topology"]["digest"] = "0000"
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(B.BundleError, match="topology"):
        B.load(path)


def test_no_pickle_in_bundle(saved):
    _, path = saved
    names = sorted(p.name for p in path.iterdir())
    assert names == ["manifest.json", "weights.safetensors"]
