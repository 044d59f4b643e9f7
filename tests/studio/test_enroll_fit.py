"""Enrollment fitting and unwrapping on synthetic clips of studio persons (issue 17, item 2-3)."""

from __future__ import annotations

import numpy as np
import torch

from models.camera import project
from studio.enroll.fit import fit_landmarks, neutral_geometry
from studio.enroll.unwrap import unwrap
from studio.head import Person, template

from .enroll_clips import yaw_sweep


def _aligned_error(A, B, face):
    a, b = A[face] - A[face].mean(0), B[face] - B[face].mean(0)
    s = (a * b).sum() / (a * a).sum()  # weak perspective: the overall scale is not observable
    return float(np.linalg.norm(s * a - b, axis=1).mean())


def test_fit_recovers_identity_pose_and_expressions():
    topo = template()
    person = Person(5)
    rng = np.random.default_rng(0)
    N = 40
    rot = np.stack([rng.uniform(-0.15, 0.15, N), np.linspace(-0.6, 0.6, N), rng.uniform(-0.1, 0.1, N)], 1)
    H = np.concatenate([np.full((N, 1), 120.0), rot, 250 + rng.normal(0, 10, (N, 2))], 1)
    expr = np.zeros((N, person.n_expressions), np.float32)
    expr[::4, person.expression_names.index("jaw_open")] = 0.6
    expr[1::5, person.expression_names.index("blink_L")] = 1.0
    G = person.geometry_batch(expr)
    K = project(torch.from_numpy(G[:, topo.landmark_ids]).double(), torch.from_numpy(H)).numpy()
    iod = np.linalg.norm(K[:, 36] - K[:, 45], axis=1)
    K = K + rng.normal(0, 1, K.shape) * 0.01 * iod[:, None, None]  # detector-like noise
    fit, _, _ = fit_landmarks(K, topo)
    face = topo.vertices[:, 2] < -0.3
    err = _aligned_error(neutral_geometry(topo, fit), person.neutral, face)
    err_template = _aligned_error(topo.vertices, person.neutral, face)
    assert err < 0.5 * err_template, (err, err_template)
    assert np.degrees(np.abs(fit.H[:, 1:4] - rot)).mean() < 1.5
    assert fit.residual.mean() < 0.03
    jaw = person.expression_names.index("jaw_open")
    assert fit.w[::4, jaw].mean() > 0.35 and np.delete(fit.w[:, jaw], np.s_[::4]).mean() < 0.1


def test_unwrap_recovers_albedo_where_confident():
    from studio.capture import make_stage

    topo = template()
    st = make_stage(5, 128)
    N = 9
    rot, H = yaw_sweep(N, 110.0, 150.0, 0.6)
    G = np.stack([st.person.geometry(None)] * N)
    albedo = st.person.albedo(128)
    frames = np.stack([st.renderer.render(G[t], H[t], albedo, (300, 300), np.zeros((300, 300, 3), np.uint8)).rgb
                       for t in range(N)])
    frames = (frames.astype(np.float32) * np.linspace(0.8, 1.1, N)[:, None, None, None]).clip(0, 255).astype(np.uint8)
    out = unwrap(frames, G, H, topo, 128)
    seen = out["observed"] & (out["coverage"] > 2.0)
    assert seen.mean() > 0.25
    # the exposure of each frame differs by up to 30 %: the gains bring them to the reference frame's
    ref_gain = np.linspace(0.8, 1.1, N)[out["ref_frame"]]
    err = np.abs(out["albedo"] - np.clip(albedo * ref_gain, 0, 1))[seen].mean()
    assert err < 0.03, err
    assert out["albedo"].shape == (128, 128, 3) and np.isfinite(out["albedo"]).all()
