"""PromptCoverage on synthetic landmark tracks: the canonical 68 points given a depth, rotated
(head yaw / pitch) or deformed (mouth, brows, eyes), in frame pixels."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.enrollment_prompts import PROMPT_NAMES, PROMPTS, TOTAL_SECONDS, PromptCoverage, frame_measures
from models.topology import canonical_landmarks_2d

RNG = np.random.default_rng(0)


def face3d() -> np.ndarray:
    """(68, 3): canonical layout, z towards the camera (nose tip ~0.5, eyes 0, jaw sides back)."""
    P = np.zeros((68, 3))
    P[:, :2] = canonical_landmarks_2d()
    P[0:17, 2] = -0.45 * np.abs(np.linspace(-1, 1, 17)) ** 2 + 0.05
    P[17:27, 2] = 0.05
    P[27:31, 2] = [0.15, 0.27, 0.39, 0.50]
    P[31:36, 2] = [0.22, 0.27, 0.30, 0.27, 0.22]
    P[48:68, 2] = 0.15
    return P


def view(P: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0, scale: float = 80.0,
         centre=(320.0, 240.0), noise: float = 0.3) -> np.ndarray:
    """Rotate (yaw about the vertical axis: + = towards image right; pitch: + = chin up), project, to pixels."""
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    Ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    Rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    Q = P @ (Rx @ Ry).T
    return Q[:, :2] * scale + np.asarray(centre) + RNG.normal(0, noise, (68, 2))


def mouth_open(P, amount):
    P = P.copy()
    P[[56, 57, 58, 65, 66, 67], 1] += amount  # lower lip down
    return P


def smile(P, gain):
    P = P.copy()
    for i in (48, 54, 60, 64):
        P[i, 0] *= gain
    return P


def brows_up(P, amount):
    P = P.copy()
    P[17:27, 1] -= amount
    return P


def eyes(P, openness):
    """openness 1 = as canonical, 0 = upper lids on the lower ones."""
    P = P.copy()
    for up, lo in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid_lo = P[lo, 1]
        P[up, 1] = mid_lo + openness * (P[up, 1] - mid_lo)
    return P


def straight(cov, n=12, **kw):
    for _ in range(n):
        cov.add("look_straight", view(face3d(), **kw))


def feed(cov, prompt, frames):
    for L in frames:
        cov.add(prompt, L)
    return cov.check(prompt)


def test_prompt_list_is_the_contract():
    assert PROMPT_NAMES == ("look_straight", "turn_left", "turn_right", "look_up", "look_down", "smile", "open_mouth",
                            "raise_brows", "blink", "close_eyes")
    assert 25 <= TOTAL_SECONDS <= 35 and all(p.text and p.seconds > 0 for p in PROMPTS)


def test_frame_measures_are_size_free_and_labelling_free():
    L = view(face3d(), noise=0.0)
    m1 = frame_measures(L)
    m2 = frame_measures(view(face3d(), scale=300.0, centre=(900.0, 100.0), noise=0.0))
    mirror = L.copy()
    mirror[:, 0] = 640 - mirror[:, 0]  # a mirrored image keeps the labels: 36 is now on the right
    m3 = frame_measures(mirror)
    for k in m1:
        assert m1[k] == pytest.approx(m2[k], abs=1e-9) and m1[k] == pytest.approx(m3[k], abs=1e-9), k


def test_head_turns_left_and_right():
    cov = PromptCoverage()
    straight(cov)
    assert cov.check("look_straight").covered
    c = feed(cov, "turn_left", [view(face3d(), yaw_deg=d) for d in np.linspace(0, 8, 15)])
    assert not c.covered and c.reason == "turn further left"
    cov.reset("turn_left")
    c = feed(cov, "turn_left", [view(face3d(), yaw_deg=d) for d in np.linspace(0, 30, 15)])
    assert c.covered and c.reason == "" and c.frames == 15
    wrong = feed(cov, "turn_right", [view(face3d(), yaw_deg=d) for d in np.linspace(0, 30, 15)])
    assert not wrong.covered and "turn to your right" in wrong.reason and "that was a turn to your left" in wrong.reason
    cov.reset("turn_right")
    assert feed(cov, "turn_right", [view(face3d(), yaw_deg=-d) for d in np.linspace(0, 30, 15)]).covered


def test_mirrored_images_swap_left_and_right():
    cov = PromptCoverage(mirrored=True)
    straight(cov)
    assert not feed(cov, "turn_left", [view(face3d(), yaw_deg=d) for d in np.linspace(0, 30, 15)]).covered
    assert feed(cov, "turn_right", [view(face3d(), yaw_deg=d) for d in np.linspace(0, 30, 15)]).covered


def test_look_up_and_down():
    cov = PromptCoverage()
    straight(cov)
    assert feed(cov, "look_up", [view(face3d(), pitch_deg=d) for d in np.linspace(0, 25, 15)]).covered
    assert feed(cov, "look_down", [view(face3d(), pitch_deg=-d) for d in np.linspace(0, 25, 15)]).covered
    cov.reset("look_up")
    c = feed(cov, "look_up", [view(face3d(), pitch_deg=d) for d in np.linspace(0, 3, 15)])
    assert not c.covered and c.reason == "tilt your head further up"


def test_expressions_relative_to_the_straight_frames():
    cov = PromptCoverage()
    straight(cov)
    c = feed(cov, "open_mouth", [view(mouth_open(face3d(), a)) for a in np.linspace(0, 0.45, 12)])
    assert c.covered
    cov.reset("open_mouth")
    c = feed(cov, "open_mouth", [view(mouth_open(face3d(), a)) for a in np.linspace(0, 0.05, 12)])
    assert not c.covered and c.reason == "open your mouth wider"
    assert feed(cov, "smile", [view(smile(face3d(), g)) for g in np.linspace(1.0, 1.25, 12)]).covered
    assert not feed(PromptCoverage(), "smile", [view(smile(face3d(), 1.25))] * 8).covered  # no straight frames yet
    assert feed(cov, "raise_brows", [view(brows_up(face3d(), a)) for a in np.linspace(0, 0.08, 12)]).covered
    cov.reset("raise_brows")
    c = feed(cov, "raise_brows", [view(brows_up(face3d(), 0.005))] * 12)
    assert not c.covered and "higher" in c.reason


def test_blink_and_closed_eyes():
    cov = PromptCoverage()
    straight(cov)
    blink = [1, 1, 1, 0.6, 0.1, 0.0, 0.3, 1, 1, 1, 1, 1]
    assert feed(cov, "blink", [view(eyes(face3d(), o), noise=0.05) for o in blink]).covered
    cov.reset("blink")
    c = feed(cov, "blink", [view(eyes(face3d(), o), noise=0.05) for o in [1.0] * 12])
    assert not c.covered and c.reason == "no blink seen - blink clearly"
    closed = [1, 1, 0.2] + [0.05] * 9
    assert feed(cov, "close_eyes", [view(eyes(face3d(), o), noise=0.05) for o in closed]).covered
    cov.reset("close_eyes")
    c = feed(cov, "close_eyes", [view(eyes(face3d(), o), noise=0.05) for o in [1] * 10 + [0.05]])
    assert not c.covered and c.reason == "keep your eyes closed longer"


def test_no_face_and_missing_reference():
    cov = PromptCoverage()
    for _ in range(10):
        cov.add("smile", None)
    c = cov.check("smile")
    assert not c.covered and c.frames == 0 and "no face" in c.reason
    feed(cov, "smile", [view(smile(face3d(), 1.3))] * 8)
    assert cov.check("smile").reason == "record 'look straight' first"
    turned = PromptCoverage()
    straight(turned, yaw_deg=35)  # "straight" frames that look aside
    assert not turned.check("look_straight").covered
    assert turned.check("look_straight").reason == "face the camera squarely"
    assert set(PromptCoverage().missing()) == set(PROMPT_NAMES)


def test_the_same_rule_for_a_small_and_a_large_face():
    for scale in (40.0, 250.0):
        cov = PromptCoverage()
        straight(cov, scale=scale)
        assert feed(cov, "turn_left", [view(face3d(), yaw_deg=25, scale=scale)] * 10).covered
        assert not feed(cov, "turn_right", [view(face3d(), yaw_deg=-5, scale=scale)] * 10).covered
