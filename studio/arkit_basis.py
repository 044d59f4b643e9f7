"""The studio's ARKit-named expression basis: 34 of ARKit's 52 blendshapes on the template head.

:mod:`studio.expressions` holds the 17 lab expressions the default avatar's DAM was trained on
(``blink_L`` ... ``mouth_right``). This module names them as ARKit does, splits the symmetric ones
per side and adds the shapes a webcam user makes that the lab basis lacks (issue 15):

- split per side from a lab field: ``browDown*``, ``noseSneer*``, ``mouthPress*``, ``mouthFrown*``
  (the two sides sum to the lab field exactly);
- new fields: ``eyeWide*`` (upper lid raised), ``browOuterUp*``, ``jawLeft/Right`` (the jaw slides
  sideways), ``mouthClose`` (lips closed over an open jaw), ``mouthStretch*``, ``mouthRollLower/Upper``,
  ``cheekSquint*``.

Sides are ARKit's: ``...Left`` is the *subject's* left, image-right (x > 0 in model space); the
studio's ``_L`` is image-left. Each field is a (V, 3) displacement at weight 1 in model space
(x image-right, y down, z away from the camera), as the lab fields.
"""

from __future__ import annotations

import numpy as np

from studio import face_plan as fp
from studio.expressions import (
    EXPRESSION_NAMES,
    JAW_HINGE,
    _front,
    _rotate_x,
    expression_basis,
    follow_lips,
    lid_rotation,
    lower_face_weight,
)
from studio.face_plan import gauss2, smoothstep
from studio.mesh import HeadMesh

# ARKit name -> the lab field it comes from, and the side it keeps
# ("L" subject's left = x > 0, "R" subject's right = x < 0, "" the whole field)
FROM_LAB: dict[str, tuple[str, str]] = {
    "eyeBlinkLeft": ("blink_R", ""), "eyeBlinkRight": ("blink_L", ""),
    "eyeSquintLeft": ("squint_R", ""), "eyeSquintRight": ("squint_L", ""),
    "browInnerUp": ("brow_raise", ""), "browDownLeft": ("brow_frown", "L"), "browDownRight": ("brow_frown", "R"),
    "jawOpen": ("jaw_open", ""), "mouthSmileLeft": ("smile_R", ""), "mouthSmileRight": ("smile_L", ""),
    "mouthFrownLeft": ("frown", "L"), "mouthFrownRight": ("frown", "R"), "mouthPucker": ("pucker", ""),
    "mouthFunnel": ("funnel", ""), "mouthPressLeft": ("lip_press", "L"), "mouthPressRight": ("lip_press", "R"),
    "cheekPuff": ("cheek_puff", ""), "noseSneerLeft": ("sneer", "L"), "noseSneerRight": ("sneer", "R"),
    "mouthLeft": ("mouth_right", ""), "mouthRight": ("mouth_left", ""),
}
NEW_FIELDS: tuple[str, ...] = (
    "eyeWideLeft", "eyeWideRight", "browOuterUpLeft", "browOuterUpRight", "jawLeft", "jawRight", "mouthClose",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "cheekSquintLeft",
    "cheekSquintRight",
)
ARKIT_BASIS_NAMES: tuple[str, ...] = (*FROM_LAB, *NEW_FIELDS)  # 34 names; NEW_FIELDS: not in the lab basis
EYE_WIDE = 0.35  # the upper lid rises by this fraction of the lid travel of a blink
JAW_SIDE = 0.07  # model units the chin slides at jawLeft = 1 (about 1 cm on a 15 cm face)


def side_weight(x: np.ndarray, side: str, margin: float = 0.06) -> np.ndarray:
    """Soft split at the midline: ``L`` (x > 0) and ``R`` (x < 0) sum to 1 everywhere. (V,) -> (V,)"""
    left = smoothstep(-margin, margin, np.asarray(x, np.float64))
    return {"L": left, "R": 1.0 - left, "": np.ones_like(left)}[side]


def _eye_wide(P: np.ndarray, region: np.ndarray, side: int) -> np.ndarray:
    """Upper lid and the skin above it rotate up about the eyeball centre (the opposite of a blink's
    upper half); the eye surface stretches with it, the lower lid stays. side -1 image-left."""
    center, travel, k = lid_rotation(P, region, side, 0.18)  # the lid skin up to below the brow
    return _rotate_x(P, center, -EYE_WIDE * travel * k) - P


def new_fields(mesh: HeadMesh, lab: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The fields of :data:`NEW_FIELDS`. ``lab``: the lab fields by studio name. -> {name: (V, 3)}"""
    P = mesh.vertices.astype(np.float64)
    x, y, z = P.T
    ax = np.abs(x)
    front = _front(P)
    low = lower_face_weight(P, mesh.lip_side)
    d = y - fp.mouth_line_y(np.clip(x, -fp.MOUTH_HALF, fp.MOUTH_HALF))
    out: dict[str, np.ndarray] = {}
    out["eyeWideLeft"] = _eye_wide(P, mesh.region, 1)
    out["eyeWideRight"] = _eye_wide(P, mesh.region, -1)
    outer = smoothstep(0.22, 0.55, ax)  # the outer half of each brow
    for name, s in (("Left", "L"), ("Right", "R")):
        out[f"browOuterUp{name}"] = lab["brow_raise"] * 1.3 * (outer * side_weight(x, s))[:, None]
    corner = sum(gauss2(x, y, s * fp.MOUTH_HALF, fp.mouth_line_y(fp.MOUTH_HALF), 0.09, 0.09) for s in (-1, 1))
    w = low + (0.5 - low) * np.clip(corner, 0.0, 1.0) * front  # as jawOpen: no crease at the mouth corners
    jaw = w * (1.0 - smoothstep(1.1, 1.65, y)) * (1.0 - smoothstep(0.2, 0.6, z))
    slide = jaw * smoothstep(JAW_HINGE[1] - 0.2, JAW_HINGE[1] + 0.6, y)  # more at the chin than at the hinge
    out["jawLeft"] = slide[:, None] * [JAW_SIDE, 0.0, 0.0]  # the subject's left = image-right
    out["jawRight"] = slide[:, None] * [-JAW_SIDE, 0.0, 0.0]
    # lips meet over an open jaw: the lower lip rises back by the jaw's opening, the upper lip comes down a little
    lip_band = (1.0 - smoothstep(0.1, 0.3, np.abs(d))) * np.exp(-0.5 * (x / 0.32) ** 4) * front
    out["mouthClose"] = -lab["jaw_open"] * (lip_band * low)[:, None] + (lip_band * (1 - low))[:, None] * [0, 0.02, 0]
    for name, s in (("Left", 1), ("Right", -1)):
        corner = gauss2(x, y, s * 0.31, fp.mouth_line_y(fp.MOUTH_HALF), 0.14, 0.12) * front
        out[f"mouthStretch{name}"] = corner[:, None] * [s * 0.05, 0.035, 0.01]
    # the lips roll in over the teeth: the vermilion (upper ~0.07, lower ~0.16 deep) turns towards the mouth line
    roll = np.exp(-0.5 * (x / 0.3) ** 4) * front
    lower = roll * low * np.clip(d / 0.16, 0.0, 1.2) * np.exp(-0.5 * (d / 0.2) ** 4)
    upper = roll * (1 - low) * np.clip(-d / 0.07, 0.0, 1.2) * np.exp(-0.5 * (d / 0.1) ** 4)
    out["mouthRollLower"] = lower[:, None] * [0.0, -0.05, 0.03]
    out["mouthRollUpper"] = upper[:, None] * [0.0, 0.025, 0.02]
    for name, s in (("Left", 1), ("Right", -1)):
        cheek = gauss2(x, y, s * 0.45, 0.02, 0.16, 0.12) * front
        out[f"cheekSquint{name}"] = cheek[:, None] * [0.0, -0.03, -0.01]
    return out


def arkit_basis(mesh: HeadMesh, lab_basis: np.ndarray | None = None) -> np.ndarray:
    """All ARKit-named fields. -> (A, V, 3) float32 in the order of :data:`ARKIT_BASIS_NAMES`.
    ``lab_basis``: the (17, V, 3) lab fields of the same mesh (computed when None)."""
    B = expression_basis(mesh) if lab_basis is None else lab_basis
    lab = {n: B[i].astype(np.float64) for i, n in enumerate(EXPRESSION_NAMES)}
    x = mesh.vertices[:, 0].astype(np.float64)
    out = {a: lab[n] * side_weight(x, s)[:, None] for a, (n, s) in FROM_LAB.items()}
    new = new_fields(mesh, lab)
    for n in NEW_FIELDS:
        new[n] = follow_lips(new[n][None], mesh)[0]
    out.update(new)
    return np.stack([out[n] for n in ARKIT_BASIS_NAMES]).astype(np.float32)
