"""Facial hair and makeup for studio persons (issue 15 item 1), painted over the albedo.

Like the eyeglasses (:mod:`studio.glasses`) they are drawn per seed from their own random stream and
applied only when a capture asks for accessories, so every existing capture stays as it was.

- **Facial hair** (a share ``P_HAIR`` of the seeds): ``stubble`` (a sparse short-hair speckle over the
  upper lip, chin, jaw and lower cheeks), ``moustache``, ``goatee`` (moustache + chin) or ``beard``
  (everything, dense), in the person's hair colour, with strand noise and a soft edge.
- **Makeup** (a share ``P_MAKEUP``): lipstick (red, pink, berry, nude, brown) over the lips, and with
  half of them eyeliner along the upper lid and a tinted eyeshadow above it.

Regions come from the template position of each texel (:func:`studio.texture.texel_positions`) and the
face plan (:mod:`studio.face_plan`), in model units (the face is about 2 wide; x image-right, y down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import face_plan as fp
from .face_plan import smoothstep
from .texture import _noise, texel_positions

P_HAIR, P_MAKEUP = 0.3, 0.25
STYLES = ("stubble", "moustache", "goatee", "beard")
LIPSTICKS = {"red": (0.62, 0.08, 0.12), "pink": (0.85, 0.42, 0.52), "berry": (0.45, 0.10, 0.25),
             "nude": (0.72, 0.50, 0.42), "brown": (0.42, 0.22, 0.16)}


@dataclass(frozen=True)
class Grooming:
    hair: str | None  # one of STYLES or None
    hair_density: float  # in (0, 1]
    lipstick: str | None  # a key of LIPSTICKS or None
    lipstick_strength: float
    eyeliner: bool


def sample(seed: int) -> Grooming:
    rng = np.random.default_rng([int(seed), 0xBEA4D])
    hair = str(rng.choice(STYLES)) if rng.random() < P_HAIR else None
    density = float(rng.uniform(0.35, 0.6) if hair == "stubble" else rng.uniform(0.7, 1.0))
    makeup = rng.random() < P_MAKEUP
    lipstick = str(rng.choice(list(LIPSTICKS))) if makeup else None
    return Grooming(hair, density, lipstick, float(rng.uniform(0.5, 0.85)), bool(makeup and rng.random() < 0.5))


def _masks(P: np.ndarray) -> dict[str, np.ndarray]:
    """Soft (T, T) region masks of facial hair and makeup from the template positions P (T, T, 3)."""
    x, y, z = P[..., 0], P[..., 1], P[..., 2]
    ax = np.abs(x)
    front = smoothstep(-0.2, -0.5, z)
    yu, yl = fp.lip_outline_y(x.ravel())
    yu, yl = yu.reshape(x.shape), yl.reshape(x.shape)
    lips = smoothstep(-0.008, 0.006, y - yu) * smoothstep(-0.008, 0.006, yl - y) * (1 - smoothstep(0.33, 0.37, ax))
    off_lips = 1.0 - smoothstep(0.0, 0.5, lips)
    upper = smoothstep(0.16, 0.22, y) * (1 - smoothstep(-0.02, 0.0, y - yu)) * (1 - smoothstep(0.3, 0.4, ax))
    chin = smoothstep(-0.01, 0.03, y - yl) * (1 - smoothstep(0.25, 0.38, ax)) * (1 - smoothstep(1.05, 1.2, y))
    jaw = smoothstep(0.2, 0.35, y) * smoothstep(0.3, 0.45, ax) * (1 - smoothstep(0.85, 1.0, ax))
    jaw = jaw * (1 - smoothstep(1.05, 1.25, y)) * smoothstep(-0.3, 0.0, -(z - 0.2))
    m = {"lips": lips * front, "upper": upper * front * off_lips, "chin": chin * front * off_lips,
         "jaw": jaw * off_lips}
    for side in (-1, 1):
        ec = fp.eye_coords(x.ravel(), y.ravel(), side)
        ec = {k: v.reshape(x.shape) for k, v in ec.items()}
        near = np.hypot(x - side * fp.EYE_CX, y - fp.EYE_CY) < 0.35
        above = (y < ec["yu"] + 0.004) & (np.abs(ec["t"]) < 1.15) & near
        m.setdefault("liner", np.zeros_like(x))
        m.setdefault("shadow", np.zeros_like(x))
        m["liner"] += (1 - smoothstep(0.0, 0.012, ec["yu"] - y)) * above * front
        m["shadow"] += smoothstep(0.0, 0.02, ec["yu"] - y) * (1 - smoothstep(0.05, 0.1, ec["yu"] - y)) * above * front
    return m


def apply(albedo: np.ndarray, topology, hair_colour: np.ndarray, g: Grooming, seed: int) -> np.ndarray:
    """The albedo (T, T, 3) float in [0, 1] with facial hair and makeup painted. -> a new array."""
    if g.hair is None and g.lipstick is None:
        return albedo
    T = albedo.shape[0]
    P, _, _ = texel_positions(topology, T)
    m = _masks(P)
    out = albedo.astype(np.float64).copy()
    rng = np.random.default_rng([int(seed), 0xBEA4E])
    if g.hair is not None:
        parts = {"stubble": ("upper", "chin", "jaw"), "moustache": ("upper",), "goatee": ("upper", "chin"),
                 "beard": ("upper", "chin", "jaw")}[g.hair]
        region = np.clip(sum(m[p] for p in parts), 0.0, 1.0)
        speckle = rng.random((T, T)) < (0.35 if g.hair == "stubble" else 0.85)
        strands = np.clip(0.75 + 0.35 * _noise(rng, T, 160), 0.0, 1.2)
        a = region * g.hair_density * np.where(speckle, 1.0, 0.25) * (0.6 if g.hair == "stubble" else 0.95)
        colour = np.asarray(hair_colour, np.float64)[None, None] * strands[..., None]
        out = out * (1 - a[..., None]) + colour * a[..., None]
    if g.lipstick is not None:
        a = m["lips"] * g.lipstick_strength
        out = out * (1 - a[..., None]) + np.array(LIPSTICKS[g.lipstick])[None, None] * a[..., None]
        if g.eyeliner:
            out *= (1 - 0.75 * np.clip(m["liner"], 0, 1))[..., None]
            tint = np.array([0.45, 0.35, 0.45])
            s = 0.35 * np.clip(m["shadow"], 0, 1)[..., None]
            out = out * (1 - s) + out * tint * s
    return np.clip(out, 0.0, 1.0).astype(albedo.dtype)
