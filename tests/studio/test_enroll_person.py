"""The enrolled person as a studio person: files, lab capture, texture-agreement refinement."""

from __future__ import annotations

import json

import numpy as np
import torch

from models.camera import project, view_direction
from studio.enroll.fit import fit_landmarks
from studio.enroll.fit_texture import TextureFitConfig, refine_with_texture, texture_energy
from studio.enroll.person import EnrolledPerson
from studio.head import Person, template

from .enroll_clips import yaw_sweep


def _enrolled(name="me") -> EnrolledPerson:
    p = Person(4)
    return EnrolledPerson(p.neutral + 0.01, p.albedo(64), p.skin, name, alpha=p.identity)


def test_save_load_round_trip(tmp_path):
    e = _enrolled()
    e.save(tmp_path / "person.npz")
    f = EnrolledPerson.load(tmp_path / "person.npz")
    assert np.allclose(f.neutral, e.neutral) and f.name == "me" and f.skin == e.skin
    assert np.abs(f.albedo(64) - e.albedo(64)).max() <= 1 / 255 + 1e-6  # stored as uint8
    assert f.albedo(32).shape == (32, 32, 3) and not f.albedo(32).flags.writeable
    G = f.geometry({"jaw_open": 1.0})
    assert G.shape == f.neutral.shape and not np.allclose(G, f.neutral)


def test_lab_capture_of_an_enrolled_person(tmp_path):
    from models.data import load_capture
    from studio.capture import capture_lab

    out = capture_lab(_enrolled("Ann"), views=2, frames=3, out=tmp_path / "lab", size=64, tex_size=32,
                      room="enroll_lab")
    cap = load_capture(out)
    m = json.loads((out / "manifest.json").read_text())
    assert m["person"] == "enrolled:Ann" and m["room"] == "enroll_lab"
    assert cap.gt["G"].shape == (3, template().n_vertices, 3)
    # flat light: the lab texture of the frontal view is the albedo itself (no shading added)
    tex = np.load(out / "textures_v00.npy")[0].astype(np.float32) / 255
    alb = _enrolled().albedo(32)
    seen = tex.sum(-1) > 0
    assert np.abs(tex - alb)[seen].mean() < 0.02


def test_texture_agreement_lowers_its_energy_and_keeps_landmarks():
    from studio.capture import make_stage
    from studio.rooms import get_room, lighting_for_pose

    topo = template()
    st = make_stage(7, 64)
    N = 8
    rot, H = yaw_sweep(N, 60.0, 80.0, 0.5)
    G = np.stack([st.person.neutral] * N)
    frames = []
    for t in range(N):
        tex = st.shader.shade(G[t], st.albedo, view_direction(torch.from_numpy(H[t])).numpy(),
                              lighting_for_pose(get_room("lab"), rot[t]))
        frames.append(st.renderer.render(G[t], H[t], tex, (160, 160), np.full((160, 160, 3), 90, np.uint8)).rgb)
    K = project(torch.from_numpy(G[:, topo.landmark_ids]).double(), torch.from_numpy(H)).numpy()
    K = K + np.random.default_rng(0).normal(0, 0.5, K.shape)
    fit, person, poses = fit_landmarks(K, topo)
    info = refine_with_texture(np.stack(frames), K, person, poses, topo, TextureFitConfig(frames=6, T=64, steps=12))
    assert info["tex_after"] < info["tex_before"]
    assert info["landmarks_after"] < 1.5 * info["landmarks_before"] + 1e-5


def test_texture_energy_is_zero_for_agreeing_frames():
    T = torch.rand(1, 3, 8, 8).repeat(3, 1, 1, 1)
    W = torch.rand(3, 8, 8)
    assert float(texture_energy(T, W)) < 1e-10
    T2 = T.clone()
    T2[0] += 0.1
    assert float(texture_energy(T2, W)) > 1e-4
