"""The per-person landmark corrective (models.landmark_identity) on known offsets and poses."""

import numpy as np
import torch

from models.camera import project
from models.landmark_identity import CLIP, GAP, LandmarkIdentity
from models.topology import canonical_landmarks_2d

from .oracle_tracker import oracle_tracker


def _scene(n=90, seed=0, noise=0.3):
    """A head (68 model points) seen under n moving poses, and a 'user' whose features sit at
    X + delta (delta in head x, y). -> X (68, 3), delta (68, 2), poses (n, 6), user points (n, 68, 2)."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([canonical_landmarks_2d() - 0.5, rng.normal(0, 0.05, (68, 1))], 1)  # about 1 wide
    delta = rng.normal(0, 0.03, (68, 2))
    t = np.arange(n) / 30
    H = np.stack([200 + 10 * np.sin(t), 0.15 * np.sin(1.3 * t), 0.3 * np.sin(0.7 * t), 0.1 * np.cos(t),
                  320 + 20 * np.sin(0.5 * t), 240 + 5 * t], 1)
    Xu = X.copy()
    Xu[:, :2] += delta
    P_user = project(torch.from_numpy(Xu)[None].expand(n, -1, -1), torch.from_numpy(H)).numpy()
    P_model = project(torch.from_numpy(X)[None].expand(n, -1, -1), torch.from_numpy(H)).numpy()
    return X, delta, H, P_model, P_user + rng.normal(0, noise, P_user.shape), t


def _nme(a, b):
    iod = np.linalg.norm(b[:, 36] - b[:, 45], axis=-1)
    return (np.linalg.norm(a - b, axis=-1).mean(-1) / iod).mean()


def test_the_corrective_finds_the_users_offsets_and_puts_the_points_on_the_features():
    X, delta, H, P_model, P_user, t = _scene()
    li = LandmarkIdentity()
    out = np.stack([li.update(P_model[i], P_user[i], H[i], t[i]) for i in range(len(t))])
    assert np.abs(li.delta - delta).max() < 0.01  # model units; delta itself is ~0.03 (std)
    before, after = _nme(P_model[30:], P_user[30:]), _nme(out[30:], P_user[30:])
    assert after < 0.25 * before, (before, after)
    # the first frame already moves most of the way (a small ridge): no long fade-in
    assert _nme(out[:1], P_user[:1]) < 0.3 * _nme(P_model[:1], P_user[:1])


def test_a_large_lasting_offset_is_learned_fully_and_the_ridge_fades():
    """An offset longer than the clip limit (a much longer chin) is still learned: the clip acts on
    what the corrective does not explain yet. Without noise the estimate converges to the offset
    (the ridge is 1/20 of one frame, not of all of them)."""
    X, delta, H, P_model, P_user, t = _scene(n=300, noise=0.0)
    big = delta.copy()
    big[:17, 1] += 0.6  # the jaw line 0.6 model units lower (~0.6 of the interocular distance)
    Xu = X.copy()
    Xu[:, :2] += big
    P_user = project(torch.from_numpy(Xu)[None].expand(len(t), -1, -1), torch.from_numpy(H)).numpy()
    li = LandmarkIdentity()
    out = [li.update(P_model[i], P_user[i], H[i], t[i]) for i in range(len(t))]
    assert np.abs(li.delta - big).max() < 0.003  # 0.5 % of the largest offset
    assert np.abs(out[-1] - P_user[-1]).max() < 1.0  # px, with f ~ 200


def test_a_gap_or_time_going_back_starts_a_new_person_and_reset_forgets():
    X, delta, H, P_model, P_user, t = _scene(n=10)
    li = LandmarkIdentity()
    for i in range(10):
        li.update(P_model[i], P_user[i], H[i], t[i])
    assert li.n == 10
    li.update(P_model[0], P_user[0], H[0], t[-1] + GAP + 0.5)
    assert li.n == 1
    li.update(P_model[1], P_user[1], H[1], t[-1])  # back in time: a new track
    assert li.n == 1
    li.reset()
    assert li.delta is None
    assert np.array_equal(li.update(P_model[0], np.full((68, 2), np.nan), H[0], 0.0), P_model[0].astype(np.float32))


def test_a_detector_slip_and_missing_points_move_the_estimate_only_a_bounded_step():
    X, delta, H, P_model, P_user, t = _scene(n=40)
    li = LandmarkIdentity()
    for i in range(39):
        li.update(P_model[i], P_user[i], H[i], t[i])
    d0 = li.delta.copy()
    slip = P_user[39].copy()
    slip[:20] += 500.0  # 20 points jump far away
    slip[60:] = np.nan  # the detector lost the mouth's inner points
    li.update(P_model[39], slip, H[39], t[39])
    iod_model_units = np.linalg.norm(X[36, :2] - X[45, :2])
    step = np.linalg.norm(li.delta - d0, axis=-1)
    assert step[:20].max() < 1.5 * CLIP * iod_model_units / li.n  # clipped, and weighted 1/n
    # a missed point keeps its estimate (only the shared A moves a little; a zero residual would move it ~1e-3)
    assert np.allclose(li.delta[60:], d0[60:], atol=2e-4)
    few = np.full((68, 2), np.nan)
    few[:10] = P_user[0, :10]
    n = li.n
    li.update(P_model[0], few, H[0], t[39] + 0.03)  # too few points: not added
    assert li.n == n


def test_the_tracker_reports_corrected_landmarks_and_keeps_the_avatars_own():
    tr = oracle_tracker(texture_every=4)
    b = tr.bundle
    frame = np.full((120, 160, 3), 120, np.uint8)
    rs = [tr.track(frame, timestamp=i / 30) for i in range(12)]
    det = np.stack([r.detected for r in rs])
    own = np.stack([r.model_landmarks for r in rs])
    cor = np.stack([r.landmarks for r in rs])
    assert not np.allclose(own, cor)
    # an untrained avatar's points are far off: the corrective brings them to the detector's
    assert _nme(cor[4:], det[4:]) < 0.5 * _nme(own[4:], det[4:])
    # the model's own landmarks are the mesh G's landmark vertices projected with H (G is untouched)
    r = rs[-1]
    P = project(torch.from_numpy(r.G[b.topology.landmark_ids]).double()[None],
                torch.from_numpy(r.H_frame).double()[None])[0].numpy()
    assert np.allclose(r.model_landmarks, P, atol=1e-3)
    tr.set_landmark_identity(False)
    r = tr.track(frame, timestamp=0.5)
    assert tr.identity is None and np.array_equal(r.landmarks, r.model_landmarks)
    tr.set_landmark_identity(True)
    r = tr.track(frame, timestamp=0.53)
    assert tr.identity.n == 1  # turned on again: a fresh estimate from this frame


def test_the_jacobian_is_the_cameras_rotation():
    from models.camera import rotation_matrix
    from models.landmark_identity import jacobian

    H = np.array([150.0, 0.3, -0.5, 0.2, 10.0, 20.0])
    R = rotation_matrix(torch.from_numpy(H[1:4]))[:2, :2].numpy()
    assert np.allclose(jacobian(H), 150.0 * R)


def test_lid_scaling_keeps_the_eye_offset_and_scales_the_lids_opening_difference():
    from models.landmark_identity import LIDS, scale_lids

    rng = np.random.default_rng(3)
    delta = rng.normal(0, 0.02, (68, 2))
    assert np.allclose(scale_lids(delta, np.ones(2)), delta)  # open eyes: unchanged
    shut = scale_lids(delta, np.array([0.0, 1.0]))
    (up, lo), (up_r, lo_r) = LIDS
    assert np.allclose(shut[list(up)].mean(0), shut[list(lo)].mean(0))  # closed: both lids get the eye's offset
    assert np.allclose(shut[list(up + lo)].mean(0), delta[list(up + lo)].mean(0))  # which is kept
    assert np.allclose(shut[list(up_r + lo_r)], delta[list(up_r + lo_r)])  # the open eye: unchanged
    others = np.setdiff1d(np.arange(68), [*up, *lo])
    assert np.allclose(shut[others], delta[others])


def test_closed_eyes_do_not_teach_the_lids_and_blinks_do_not_cross_them():
    """A user whose lids sit 0.02 inside the avatar's when open: while open the corrective learns it;
    frames the avatar shows with closed eyes add nothing to the lids and get the avatar's closed lids."""
    from models.landmark_identity import LIDS

    X, _, H, P_model, _, t = _scene(n=60, noise=0.0)
    (up, lo), _ = LIDS
    shift = np.zeros((68, 3))
    shift[list(up), 1] = 0.02  # the user's upper lids lower, lower lids higher (model y up: a smaller opening)
    shift[list(lo), 1] = -0.02
    Xu = X - shift
    P_user = project(torch.from_numpy(Xu)[None].expand(60, -1, -1), torch.from_numpy(H)).numpy()
    est = LandmarkIdentity()
    for i in range(50):
        est.update(P_model[i], P_user[i], H[i], t[i], eyes_open=np.ones(2))
    learned = est.delta.copy()
    assert np.abs(learned[list(up), 1] + 0.02).max() < 2e-3  # the open lids' difference is learned
    before = est.b.copy()
    closed_user = P_user[50].copy()
    closed_user[list(up)] = closed_user[list(lo)]  # the detector's lids met; the avatar's shut too
    out = est.update(P_model[50], closed_user, H[50], t[50], eyes_open=np.array([0.0, 1.0]))
    assert np.array_equal(est.b[list(up + lo)], before[list(up + lo)])  # the shut lids taught nothing
    # the avatar's lids (here the open model) get only the eye's offset, so they do not cross
    assert np.allclose(out[list(up)].mean(0) - out[list(lo)].mean(0),
                       P_model[50][list(up)].mean(0) - P_model[50][list(lo)].mean(0), atol=0.05)
