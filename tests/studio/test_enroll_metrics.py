"""Enrollment verification metrics (studio.enroll.metrics): colour match, masked PSNR / SSIM,
face mask, crops and the contact sheet, on synthetic images with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from studio.enroll.metrics import (
    colour_correct,
    contact_sheet,
    crop_around,
    face_mask,
    masked_psnr,
    masked_ssim,
    ssim_map,
)


def _texture(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth, structured (h, w, 3) float image in [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    x = cv2.GaussianBlur(rng.random((h, w, 3)), (0, 0), 2.0)
    x = (x - x.min()) / (x.max() - x.min())
    return 0.1 + 0.8 * x


def _landmarks(cx: float = 200.0, cy: float = 160.0, s: float = 60.0) -> np.ndarray:
    """A plausible upright (68, 2) iBUG layout: jaw arc, brows, nose, eyes, mouth."""
    t = np.linspace(np.pi, 0.0, 17)
    jaw = np.stack([cx - s * np.cos(t), cy - 0.1 * s + 1.1 * s * np.sin(t)], 1)
    brows = np.stack([np.linspace(cx - 0.8 * s, cx + 0.8 * s, 10), np.full(10, cy - 0.6 * s)], 1)
    nose = np.stack([np.full(9, cx), np.linspace(cy - 0.4 * s, cy + 0.2 * s, 9)], 1)
    eyes = np.stack([np.r_[np.linspace(cx - 0.6 * s, cx - 0.2 * s, 6), np.linspace(cx + 0.2 * s, cx + 0.6 * s, 6)],
                     np.full(12, cy - 0.35 * s)], 1)
    a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    mouth = np.stack([cx + 0.4 * s * np.cos(a), cy + 0.55 * s + 0.12 * s * np.sin(a)], 1)
    return np.concatenate([jaw, brows, nose, eyes, mouth]).astype(np.float32)


def test_colour_correct_recovers_a_known_gain_and_offset():
    real = _texture()
    gain, offset = np.array([1.25, 0.8, 1.1]), np.array([-0.05, 0.1, 0.02])
    render = (real - offset) / gain  # real = gain * render + offset
    mask = np.zeros(real.shape[:2], bool)
    mask[10:80, 20:110] = True
    out = colour_correct(render, real, mask)
    assert out.dtype == render.dtype and out.shape == render.shape
    assert np.abs(out - real).max() < 1e-3
    # the fit uses the mask pixels only: garbage outside it does not move it
    real2 = real.copy()
    real2[~mask] = 0.0
    assert np.abs(colour_correct(render, real2, mask)[mask] - real[mask]).max() < 1e-3


def test_colour_correct_uint8_in_uint8_out():
    real = (_texture() * 255 + 0.5).astype(np.uint8)
    render = np.clip((real.astype(np.float64) - 20) * 0.7, 0, 255).astype(np.uint8)
    mask = np.ones(real.shape[:2], bool)
    out = colour_correct(render, real, mask)
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - real.astype(int)).mean() < 1.5
    assert masked_psnr(out, real, mask) > masked_psnr(render, real, mask) + 10
    flat = np.full_like(render, 77)  # a constant channel: gain 1, mean offset
    np.testing.assert_allclose(colour_correct(flat, real, mask).mean((0, 1)), real.mean((0, 1)), atol=1.0)


def test_psnr_identical_and_known_noise():
    a = _texture()
    mask = np.zeros(a.shape[:2], bool)
    mask[20:70, 30:100] = True
    assert masked_psnr(a, a, mask) == float("inf")
    rng = np.random.default_rng(1)
    b = a + rng.normal(0, 0.02, a.shape)
    b[~mask] = 0.0  # outside the mask does not count
    mse = np.mean((a[mask] - b[mask]) ** 2)
    assert masked_psnr(a, b, mask) == pytest.approx(10 * np.log10(1 / mse), abs=0.01)
    assert masked_psnr(a, b, mask) == pytest.approx(-20 * np.log10(0.02), abs=0.3)
    # uint8 is scaled by 1/255
    au, bu = (a * 255).astype(np.uint8), (np.clip(b, 0, 1) * 255).astype(np.uint8)
    mse8 = np.mean(((au[mask].astype(float) - bu[mask]) / 255) ** 2)
    assert masked_psnr(au, bu, mask) == pytest.approx(10 * np.log10(1 / mse8), abs=0.01)
    with pytest.raises(ValueError, match="no pixel"):
        masked_psnr(a, b, np.zeros_like(mask))


def test_ssim_identical_is_one_and_falls_with_blur():
    a = _texture(seed=2)
    mask = np.zeros(a.shape[:2], bool)
    mask[8:88, 8:120] = True
    assert masked_ssim(a, a, mask) == pytest.approx(1.0, abs=1e-9)
    scores = [masked_ssim(a, cv2.GaussianBlur(a, (0, 0), s), mask) for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(s < 1.0 for s in scores)
    assert all(x > y for x, y in zip(scores, scores[1:], strict=False)), scores
    gray = a.mean(2)
    assert masked_ssim(gray, gray, mask) == pytest.approx(1.0, abs=1e-9)
    assert ssim_map(gray, cv2.GaussianBlur(gray, (0, 0), 2.0)).shape == gray.shape


def test_ssim_contrast_and_structure():
    a = _texture(seed=3)
    mask = np.ones(a.shape[:2], bool)
    # a constant offset only changes the luminance term a little; noise hurts much more
    shifted = masked_ssim(a, np.clip(a + 0.05, 0, 1), mask)
    noisy = masked_ssim(a, a + np.random.default_rng(0).normal(0, 0.1, a.shape), mask)
    assert shifted > 0.95 and noisy < 0.8
    # mask selection: the damaged half counts only when the mask includes it
    b = a.copy()
    b[:, 64:] = np.random.default_rng(1).random(b[:, 64:].shape)
    left = np.zeros_like(mask)
    left[:, :50] = True
    assert masked_ssim(a, b, left) > 0.99 > masked_ssim(a, b, ~left)


def test_face_mask_covers_the_hull_and_the_forehead():
    pts = _landmarks()
    m = face_mask(pts, (320, 400))
    assert m.shape == (320, 400) and m.dtype == bool
    hull = np.zeros((320, 400), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.rint(pts).astype(np.int32)), 1)
    assert m[hull > 0].all()
    ip = np.rint(pts).astype(int)
    assert m[ip[:, 1], ip[:, 0]].all()
    height = pts[:, 1].max() - pts[:, 1].min()
    brow_y, cx = pts[17:27, 1].mean(), 200
    assert m[int(brow_y - 0.15 * height), cx]  # inside the forehead extension
    assert not m[int(brow_y - 0.3 * height), cx]  # above it
    assert not m[int(pts[8, 1] + 5), cx]  # below the chin
    assert not m[int(brow_y), int(pts[:, 0].max() + 5)]
    assert m.sum() > hull.sum() * 1.1


def test_face_mask_follows_a_tilted_head_and_the_render_mask():
    pts = _landmarks()
    c = np.array([200.0, 160.0])
    R = np.array([[0.0, -1.0], [1.0, 0.0]])  # 90 degrees: the face's "up" points to image-right
    rot = (pts - c) @ R.T + c
    m = face_mask(rot, (320, 400))
    brow = rot[17:27].mean(0)
    height = rot[:, 0].max() - rot[:, 0].min()
    assert brow[0] > c[0]  # brows to the right of the centre
    assert m[int(brow[1]), int(brow[0] + 0.15 * height)]
    assert not m[int(brow[1]), int(brow[0] + 0.3 * height)]
    render = np.zeros((320, 400), bool)
    render[:, :200] = True
    both = face_mask(rot, (320, 400), render)
    assert not both[:, 200:].any() and both[:, :200].sum() == m[:, :200].sum()
    with pytest.raises(ValueError):
        face_mask(rot, (320, 400), render[:10])


def test_crop_around_centres_and_pads():
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, :, 2] = np.arange(320)[None, :] * 255 // 319  # red ramp along x
    pts = _landmarks(cx=160.0, cy=120.0, s=40.0)
    crop = crop_around(img, pts, scale=1.6, size=96)
    assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
    box = pts.max(0) - pts.min(0)
    side = 1.6 * box.max()
    xmid = (pts[:, 0].min() + pts[:, 0].max()) / 2
    # the crop's left / right columns sample the ramp at xmid -+ side / 2
    assert abs(int(crop[48, 0, 2]) - (xmid - side / 2) * 255 / 319) < 4
    assert abs(int(crop[48, -1, 2]) - (xmid + side / 2) * 255 / 319) < 4
    # out of frame: edge replication, no black border
    edge = crop_around(img, pts - (150, 0), scale=1.6, size=96)
    assert edge.shape == (96, 96, 3)
    assert (edge[:, :10, 2] == img[0, 0, 2]).all()
    gray = crop_around(img[..., 2], pts, size=64)
    assert gray.shape == (64, 64)


def test_contact_sheet_layout():
    a = np.full((100, 80, 3), 200, np.uint8)
    b = (np.ones((50, 50, 3)) * 0.5).astype(np.float32)
    c = np.full((300, 300), 10, np.uint8)
    sheet = contact_sheet([(a, b, c), (c, a, b)], tile=64)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[2] == 3
    header = sheet.shape[0] - 2 * 64
    assert header > 10 and sheet.shape[1] == 3 * 64
    assert (sheet[header + 10, 10] == 200).all() and (sheet[header + 10, 64 + 10] == 128).all()
    assert (sheet[header + 64 + 10, 10] == 10).all()
    head = sheet[:header]
    for i in range(3):  # white label text in every column of the header bar
        assert (head[:, i * 64:(i + 1) * 64] > 200).any()
    with pytest.raises(ValueError):
        contact_sheet([])
    with pytest.raises(ValueError):
        contact_sheet([(a, b)])
