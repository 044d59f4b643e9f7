"""Studio captures: format, ground truth on the rendered pixels, determinism, bad input."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from models.camera import transform
from models.data import load_capture

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from studio.capture import capture_lab

    return load_capture(capture_lab(0, 3, 4, tmp_path_factory.mktemp("c") / "lab", size=96, tex_size=64))


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    from studio.capture import capture_wild

    return load_capture(capture_wild(1, "office", 6, tmp_path_factory.mktemp("c") / "wild", size=(160, 120),
                                     tex_size=64))


def test_lab_format(lab):
    F, V = lab.frames, lab.views
    g = lab.gt
    assert g["H"].shape == (F, V, 6) and g["landmarks"].shape == (F, V, 68, 2)
    assert g["G"].shape[0] == F and g["G"].shape[2] == 3
    assert lab.images(0).shape == (F, 96, 96, 3) and lab.textures(2).shape == (F, 64, 64, 3)
    assert lab.masks(1).shape == (F, 96, 96) and lab.masks(1).any()
    assert np.allclose(np.linalg.norm(g["view_dir"], axis=-1), 1.0, atol=1e-5)
    # synchronised views: same geometry, different poses
    assert not np.allclose(g["H"][0, 0], g["H"][0, 1])


def test_landmarks_and_moles_land_on_the_rendered_face(lab):
    """Project the GT landmark vertices and check the render's depth at those pixels."""
    from render.face_renderer import FaceRenderer
    from studio.head import Person

    person = Person(0)
    r = FaceRenderer(person.topology)
    t, v = 1, 0
    G, H = lab.gt["G"][t], lab.gt["H"][t, v]
    res = r.render(G, H, lab.textures(v)[t], (96, 96))
    P = transform(torch.from_numpy(G[person.topology.landmark_ids]).double(), torch.from_numpy(H).double()).numpy()
    assert np.allclose(P[:, :2], lab.gt["landmarks"][t, v], atol=1e-3)
    hits = 0
    for x, y, z in P:
        c, rr = int(round(x)), int(round(y))
        if res.tri_id[rr, c] >= 0 and abs(res.depth[rr, c] - z) < 0.03 * H[0]:
            hits += 1
    assert hits >= 60  # frontal view: nearly every landmark is on a visible surface at its pixel
    vis = lab.gt["salient_visible"][t, v]
    assert vis.sum() >= 3
    for (x, y), ok in zip(lab.gt["salient"][t, v], vis):
        if ok:
            assert res.tri_id[int(round(y)), int(round(x))] >= 0
    r.release()


def test_wild_video_and_truth(wild):
    frames = wild.video_frames()
    assert frames.shape == (6, 120, 160, 3)
    assert wild.manifest["room"] == "office" and wild.gt["H"].shape == (6, 1, 6)
    assert "salient_uv" in wild.gt and wild.gt["salient_uv"].shape[1] == 2


def test_determinism(tmp_path):
    from studio.capture import capture_lab

    a = load_capture(capture_lab(2, 2, 2, tmp_path / "a", size=64, tex_size=32))
    b = load_capture(capture_lab(2, 2, 2, tmp_path / "b", size=64, tex_size=32))
    c = load_capture(capture_lab(3, 2, 2, tmp_path / "c", size=64, tex_size=32))
    assert np.array_equal(a.images(1), b.images(1)) and np.array_equal(a.gt["G"], b.gt["G"])
    assert not np.array_equal(a.images(0), c.images(0))


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "studio", "capture", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_bad_input_gives_clear_errors(tmp_path):
    r = _cli("--kind", "wild", "--room", "disco", "--frames", "3", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown room" in r.stderr and "tungsten" in r.stderr
    r = _cli("--kind", "lab", "--frames", "0", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "positive" in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = _cli("--kind", "lab", "--frames", "2", "--views", "2", "--out", str(blocker / "sub"))
    assert r.returncode == 2 and "cannot write" in r.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_missing_egl_is_reported(tmp_path, monkeypatch):
    from render.errors import RenderError
    from studio import capture

    def boom(*a, **k):
        raise RenderError("no EGL display: install libegl1 libgl1 libgl1-mesa-dri")

    monkeypatch.setattr(capture, "create_context", boom)
    with pytest.raises(RenderError, match="libegl1"):
        capture.capture_lab(0, 1, 1, tmp_path / "z", size=64, tex_size=32)
    assert not (tmp_path / "z").exists() and not list(tmp_path.glob(".*partial"))


def test_interrupted_capture_leaves_nothing_complete(tmp_path, monkeypatch):
    from studio import capture

    def progress(i, n):
        if i == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        capture.capture_lab(0, 1, 4, tmp_path / "cap", size=64, tex_size=32, progress=progress)
    assert not (tmp_path / "cap").exists() and not list(tmp_path.glob(".*partial"))


def test_perturbation_and_sweep_sets(tmp_path):
    from studio import perturb
    from studio.capture import capture_lab

    clean = load_capture(capture_lab(0, 1, 2, tmp_path / "clean", size=96, tex_size=32, seed=5))
    path = capture_lab(0, 1, 2, tmp_path / "jit", size=96, tex_size=32, seed=5)
    assert perturb.perturb_capture(path, "jitter", seed=1)["kind"] == "jitter"
    jit = load_capture(path)
    assert not np.array_equal(jit.images(0), clean.images(0))
    assert not np.allclose(jit.gt["landmarks"], clean.gt["landmarks"])  # ground truth follows the warp
    path = capture_lab(0, 1, 2, tmp_path / "col", size=96, tex_size=32, seed=5)
    perturb.perturb_capture(path, "color", seed=1)
    col = load_capture(path)
    assert np.allclose(col.gt["landmarks"], clean.gt["landmarks"])
    assert not np.array_equal(col.images(0), clean.images(0))
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb.perturb_capture(path, "fog")
    perturb.resolution_sweep(tmp_path / "clean", sizes=(256, 64))
    a, b = np.load(tmp_path / "clean" / "sweep_256.npy"), np.load(tmp_path / "clean" / "sweep_64.npy")
    assert a.shape == b.shape == (2, 256, 256, 3)
    assert np.abs(a.astype(float) - b).mean() > 1.0  # the 64 px face lost detail
