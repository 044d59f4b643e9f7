"""Procedural eyeglasses for studio persons (issue 15 item 1: several real users wear them).

A pair is drawn per person seed (:func:`sample`, its own random stream, so a person's face, skin
and moles are unchanged) and drawn over a rendered frame (:func:`draw`): rigid with the head (posed
by H from the person's *neutral* geometry, so a blink does not move them), two superellipse rims
centred on the eyes and standing ``standoff`` in front of them, a bridge over the nose and the
temples back to the ears. Each segment is drawn only where it is in front of the rendered face
(the renderer's depth), so a turned head hides the far temple. The lenses tint the eyes a little
and carry a reflection band that slides with the head's yaw (what a lamp or a screen does).

Shapes and units: model space (x image-right, y down, z away from the camera); lengths in eye
half-widths A (the half distance of the eye corners, ~15 mm on a person).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from render.reference import transform_np

P_GLASSES = 0.35  # share of crowd persons with glasses
FRAME_COLOURS = {"black": (0.05, 0.05, 0.06), "tortoise": (0.30, 0.16, 0.07), "gold": (0.75, 0.60, 0.30),
                 "silver": (0.72, 0.73, 0.75), "navy": (0.08, 0.12, 0.30), "clear": (0.78, 0.74, 0.70)}


@dataclass(frozen=True)
class Glasses:
    width: float  # lens half-width / A
    height: float  # lens half-height / A
    exponent: float  # superellipse exponent: 2 round, 3-5 rectangular with round corners
    lift: float  # lens centre above the eye centre / A
    standoff: float  # lens plane in front of the eye corners / A
    thickness: float  # rim thickness, fraction of A
    colour: tuple[float, float, float]
    colour_name: str
    tint: float  # lens darkening in [0, 1)
    reflection: float  # strength of the reflection band in [0, 1]


def sample(seed: int) -> Glasses | None:
    """The pair of person ``seed`` or None (no glasses), deterministic."""
    rng = np.random.default_rng([int(seed), 0x61A55])
    if rng.random() >= P_GLASSES:
        return None
    name = str(rng.choice(list(FRAME_COLOURS)))
    return Glasses(width=float(rng.uniform(1.45, 1.8)), height=float(rng.uniform(0.9, 1.3)),
                   exponent=float(rng.choice([2.0, 2.6, 3.5, 4.5])), lift=float(rng.uniform(0.0, 0.3)),
                   standoff=float(rng.uniform(0.6, 0.9)), thickness=float(rng.uniform(0.06, 0.16)),
                   colour=FRAME_COLOURS[name], colour_name=name, tint=float(rng.uniform(0.0, 0.15)),
                   reflection=float(rng.uniform(0.15, 0.45)))


def curves(neutral_landmarks: np.ndarray, head_half_width: float, g: Glasses, n: int = 48) -> dict:
    """3D polylines of the pair on a face: {"rim_l", "rim_r": (n, 3) closed, "bridge": (m, 3),
    "temple_l", "temple_r": (m, 3)}. neutral_landmarks (68, 3) model space."""
    L = np.asarray(neutral_landmarks, np.float64)
    out = {}
    inner = {}
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    for key, (a, b), side in (("rim_r", (36, 39), -1), ("rim_l", (42, 45), 1)):
        c = 0.5 * (L[a] + L[b])
        A = 0.5 * np.linalg.norm(L[a, :2] - L[b, :2])
        e = 2.0 / g.exponent
        x = g.width * A * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** e
        y = g.height * A * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** e
        centre = c + np.array([0.0, -g.lift * A, -g.standoff * A])
        wrap = 0.1 * A * (x / (g.width * A)) ** 2  # the rim's sides curve back a little
        rim = centre + np.stack([x, y, wrap], -1)
        out[key] = rim
        inner[side] = rim[np.argmin(side * rim[:, 0])]  # the rim point nearest the nose
        outer = rim[np.argmax(side * rim[:, 0])]
        ear = np.array([side * head_half_width, c[1] + 0.2 * A, c[2] + 4.0 * A])
        s = np.linspace(0.0, 1.0, 12)[:, None]
        out["temple_" + ("l" if side > 0 else "r")] = outer + s * (ear - outer)
    s = np.linspace(0.0, 1.0, 12)[:, None]
    mid = 0.5 * (inner[-1] + inner[1]) + np.array([0.0, -0.25 * np.linalg.norm(inner[1] - inner[-1]), 0.0])
    out["bridge"] = (1 - s) ** 2 * inner[-1] + 2 * s * (1 - s) * mid + s**2 * inner[1]
    return out


def head_half_width(neutral: np.ndarray, eye_y: float) -> float:
    """Half the head's width at the eyes' height (where the temples meet the head). neutral (V, 3)."""
    V = np.asarray(neutral, np.float64)
    near = (np.abs(V[:, 1] - eye_y) < 0.1) & (V[:, 2] < 0.3)
    return float(np.abs(V[near, 0]).max()) if near.any() else float(np.abs(V[:, 0]).max())


class GlassesLayer:
    """What a capture calls per frame: ``layer(rgb, depth, H) -> rgb`` for a person (a no-op without
    glasses or with ``enabled`` False)."""

    def __init__(self, person, enabled: bool) -> None:
        self.g = getattr(person, "glasses", None) if enabled else None
        if self.g is not None:
            neutral = np.asarray(person.neutral, np.float64)
            self.L = neutral[person.topology.landmark_ids]
            self.half_width = head_half_width(neutral, float(self.L[36:48, 1].mean()))

    def __call__(self, rgb: np.ndarray, depth: np.ndarray, H: np.ndarray) -> np.ndarray:
        return rgb if self.g is None else draw(rgb, depth, self.L, self.half_width, H, self.g)


def draw(rgb: np.ndarray, depth: np.ndarray, neutral_landmarks: np.ndarray, head_half_width: float,
         H: np.ndarray, g: Glasses) -> np.ndarray:
    """The frame (h, w, 3) uint8 RGB with the pair drawn; depth (h, w) the renderer's (pixel units,
    +inf on the background); H (6,) the frame's pose. -> a new (h, w, 3) uint8."""
    out = rgb.astype(np.float32)
    h, w = depth.shape
    cs = curves(neutral_landmarks, head_half_width, g)
    P = {k: transform_np(v, H) for k, v in cs.items()}  # (n, 3): pixels + depth
    L = np.asarray(neutral_landmarks, np.float64)
    A_px = float(H[0]) * 0.5 * np.linalg.norm(L[36, :2] - L[39, :2])
    yaw = float(H[2])
    for key in ("rim_l", "rim_r"):  # lenses first: tint and the reflection band
        poly = np.round(P[key][:, :2] * 8).astype(np.int32)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [poly], 1, cv2.LINE_AA, shift=3)
        if not mask.any():
            continue
        m = mask.astype(bool)
        out[m] *= 1.0 - g.tint
        yy, xx = np.nonzero(m)
        c = P[key][:, :2].mean(0)
        band = ((xx - c[0]) + 0.6 * (yy - c[1])) / max(A_px, 1e-6) - 2.0 * np.sin(yaw)
        k = g.reflection * np.exp(-0.5 * (band / 0.35) ** 2)
        out[yy, xx] = out[yy, xx] * (1 - k[:, None]) + 255.0 * k[:, None]
    colour = np.array(g.colour) * 255.0
    thick = max(1, int(round(g.thickness * A_px)))
    for key, closed in (("temple_l", False), ("temple_r", False), ("bridge", False), ("rim_l", True),
                        ("rim_r", True)):
        p = P[key]
        idx = np.arange(len(p))
        nxt = (idx + 1) % len(p) if closed else idx[1:]
        for i, j in zip(idx[:len(nxt)], nxt):
            mid = 0.5 * (p[i] + p[j])
            x, y = int(round(mid[0])), int(round(mid[1]))
            if 0 <= x < w and 0 <= y < h and np.isfinite(depth[y, x]) and mid[2] > depth[y, x] - 0.02 * A_px:
                continue  # behind the face (the far temple of a turned head)
            cv2.line(out, (int(round(p[i, 0] * 8)), int(round(p[i, 1] * 8))),
                     (int(round(p[j, 0] * 8)), int(round(p[j, 1] * 8))), colour.tolist(), thick, cv2.LINE_AA, shift=3)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
