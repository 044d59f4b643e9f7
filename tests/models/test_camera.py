import math

import numpy as np
import torch

from models.camera import crop_to_frame, frame_to_crop, project, rotation_matrix, transform, view_direction


def H_of(f=1.0, rx=0.0, ry=0.0, rz=0.0, tx=0.0, ty=0.0, dtype=torch.float64):
    return torch.tensor([f, rx, ry, rz, tx, ty], dtype=dtype)


def test_identity_projection_is_scale_and_shift():
    X = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, -2.0]], dtype=torch.float64)
    p = project(X, H_of(f=10.0, tx=5.0, ty=-3.0))
    assert torch.allclose(p, torch.tensor([[15.0, 17.0], [-5.0, 2.0]], dtype=torch.float64))


def test_rotation_about_each_axis():
    X = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    q = math.pi / 2
    # rz = 90 deg: x -> y, y -> -x
    assert torch.allclose(project(X, H_of(rz=q)), torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]],
                                                               dtype=torch.float64), atol=1e-12)
    # ry = 90 deg: z -> x, x -> -z (x projects to 0)
    assert torch.allclose(project(X, H_of(ry=q)), torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]],
                                                               dtype=torch.float64), atol=1e-12)
    # rx = 90 deg: y -> z, z -> -y
    assert torch.allclose(project(X, H_of(rx=q)), torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, -1.0]],
                                                               dtype=torch.float64), atol=1e-12)


def test_rotation_order_is_rz_ry_rx():
    r = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    R = rotation_matrix(r)
    Rx = rotation_matrix(torch.tensor([0.3, 0, 0], dtype=torch.float64))
    Ry = rotation_matrix(torch.tensor([0, -0.7, 0], dtype=torch.float64))
    Rz = rotation_matrix(torch.tensor([0, 0, 1.1], dtype=torch.float64))
    assert torch.allclose(R, Rz @ Ry @ Rx)
    assert torch.allclose(R @ R.T, torch.eye(3, dtype=torch.float64), atol=1e-12)


def test_view_direction_frontal_and_turned():
    assert torch.allclose(view_direction(H_of()), torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64))
    # head turned by +90 deg yaw: the camera is seen from the head's -x side... check via R^T(0,0,-1)
    H = H_of(ry=0.4, rx=-0.2)
    d = view_direction(H)
    R = rotation_matrix(H[1:4])
    assert torch.allclose(R @ d, torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64), atol=1e-12)


def test_crop_frame_round_trip_projects_consistently():
    torch.manual_seed(0)
    X = torch.randn(2, 10, 3, dtype=torch.float64)
    H = torch.tensor([[40.0, 0.1, -0.2, 0.05, 60.0, 70.0], [30.0, 0.0, 0.3, 0.0, 64.0, 64.0]], dtype=torch.float64)
    box = torch.tensor([[100.0, 50.0, 256.0], [10.0, 20.0, 64.0]], dtype=torch.float64)
    Hf = crop_to_frame(H, box, 128)
    s = 128 / box[:, 2:3]
    p_crop = project(X, H)
    p_frame = project(X, Hf)
    assert torch.allclose((p_frame - box[:, None, :2]) * s[:, None], p_crop)
    assert torch.allclose(frame_to_crop(Hf, box, 128), H)


def test_transform_depth_grows_away_from_camera():
    X = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    Y = transform(X, H_of(f=2.0))
    assert Y[0, 2] < Y[1, 2]


def test_project_gradcheck():
    X = torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True)
    H = torch.tensor([[2.0, 0.1, 0.2, -0.3, 1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(project, (X, H))


def test_euler_round_trip():
    from models.camera import euler_from_matrix

    r = torch.tensor([[0.3, -0.7, 1.1], [-0.2, 0.4, -2.5], [0.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(euler_from_matrix(rotation_matrix(r)), r, atol=1e-10)


def test_the_numpy_rotation_is_the_torch_one():
    from models.camera import rotation_matrix_np

    for r in ([0.3, -0.7, 1.1], [0.0, 0.0, 0.0], [-1.2, 0.4, -2.5]):
        R = rotation_matrix(torch.tensor(r, dtype=torch.float64)).numpy()
        assert np.allclose(rotation_matrix_np(np.array(r)), R, atol=1e-12)
