"""Named capture rooms: the lab and the "wild" rooms of DESIGN.md section 5.

Light directions are given in the CAMERA frame (x right, y down, z away from the camera;
a light at the camera is ``(0, 0, -1)``) because lights stay with the room while the head
turns; :func:`lighting_for_pose` turns them into the head frame the UV shader expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.camera import rotation_matrix
from render.uv_lighting import Light, Lighting


@dataclass(frozen=True)
class CameraFx:
    """Camera/sensor effects of a room (all seeded per capture)."""

    wb_start: tuple[float, float, float] = (1.0, 1.0, 1.0)  # white-balance gains (R, G, B)
    wb_end: tuple[float, float, float] = (1.0, 1.0, 1.0)  # drifts linearly from start to end
    exposure_start: float = 1.0  # linear gain
    exposure_end: float = 1.0
    gamma: float = 1.0
    noise: float = 0.0  # read-noise sigma (0-1 scale); shot noise scales with sqrt(signal)
    motion_blur: float = 0.0  # blur length in px per px/frame of head motion (0 = off)
    jpeg_quality: int = 0  # 0 = no JPEG round trip
    shake_px: float = 0.0  # camera shake amplitude (px at 256)
    background: str = "plain"  # "plain" | "clutter"
    background_color: tuple[int, int, int] = (200, 200, 200)  # RGB for plain


@dataclass(frozen=True)
class Room:
    name: str
    description: str
    lights: tuple[Light, ...]
    ambient: tuple[float, float, float]
    specular: float = 0.25
    shininess: float = 32.0
    shadows: bool = True
    fx: CameraFx = field(default_factory=CameraFx)


ROOMS: dict[str, Room] = {
    "lab": Room("lab", "even white light, plain background (the capture dome)",
                (Light((0.0, -0.2, -1.0), (1.0, 1.0, 1.0), 0.55, shadow=False),
                 Light((-0.8, -0.2, -0.6), (1.0, 1.0, 1.0), 0.25, shadow=False),
                 Light((0.8, -0.2, -0.6), (1.0, 1.0, 1.0), 0.25, shadow=False)),
                (0.35, 0.35, 0.35), specular=0.2, shadows=False,
                fx=CameraFx(background_color=(128, 128, 128))),
    # an enrolled person's albedo is unwrapped from a real clip and already carries that room's
    # (mostly frontal) light: their lab lights it flat, so the DAM learns the appearance as seen
    "enroll_lab": Room("enroll_lab", "flat white light for an enrolled person's lab (issue 17)",
                       (), (1.0, 1.0, 1.0), specular=0.0, shadows=False,
                       fx=CameraFx(background_color=(128, 128, 128))),
    "tungsten": Room("tungsten", "warm tungsten ceiling lamp, living room",
                     (Light((0.3, -0.9, -0.5), (1.0, 0.72, 0.42), 0.95),),
                     (0.22, 0.16, 0.10), specular=0.3,
                     fx=CameraFx(wb_start=(1.05, 1.0, 0.85), wb_end=(1.1, 1.0, 0.8), exposure_start=1.05,
                                 exposure_end=0.95, noise=0.01, motion_blur=0.5, jpeg_quality=80, shake_px=1.0,
                                 background="clutter")),
    "office": Room("office", "cold fluorescent office light from above",
                   (Light((0.0, -1.0, -0.35), (0.82, 0.95, 1.0), 0.85),
                    Light((0.0, -0.3, -1.0), (0.85, 0.95, 1.0), 0.25, shadow=False)),
                   (0.20, 0.24, 0.27), specular=0.35,
                   fx=CameraFx(wb_start=(0.9, 1.0, 1.12), wb_end=(0.95, 1.0, 1.05), exposure_start=1.1,
                               exposure_end=1.0, gamma=0.95, noise=0.008, motion_blur=0.4, jpeg_quality=75,
                               shake_px=0.5, background="clutter")),
    "window": Room("window", "daylight through a window on the side: hard shadows",
                   (Light((-1.0, -0.25, -0.25), (1.0, 0.98, 0.95), 1.25),),
                   (0.10, 0.11, 0.13), specular=0.35, shininess=48.0,
                   fx=CameraFx(exposure_start=0.95, exposure_end=1.05, noise=0.006, motion_blur=0.5,
                               jpeg_quality=85, shake_px=1.0, background="clutter")),
    "evening": Room("evening", "dim evening lamp: low exposure, sensor noise",
                    (Light((0.6, -0.5, -0.6), (1.0, 0.85, 0.65), 0.55),),
                    (0.07, 0.06, 0.06), specular=0.2,
                    fx=CameraFx(wb_start=(1.0, 1.0, 0.9), wb_end=(1.05, 1.0, 0.85), exposure_start=0.7,
                                exposure_end=0.8, gamma=1.1, noise=0.012, motion_blur=0.8, jpeg_quality=65,
                                shake_px=1.5, background="clutter")),
    "rgb_desk": Room("rgb_desk", "coloured RGB gaming desk lights, magenta left and cyan right",
                     (Light((-0.9, -0.1, -0.5), (1.0, 0.25, 0.8), 0.8),
                      Light((0.9, -0.1, -0.5), (0.2, 0.85, 1.0), 0.7)),
                     (0.10, 0.08, 0.12), specular=0.4,
                     fx=CameraFx(exposure_start=1.0, exposure_end=1.0, noise=0.015, motion_blur=0.5,
                                 jpeg_quality=70, shake_px=1.0, background="clutter")),
}
WILD_ROOMS = tuple(k for k in ROOMS if k not in ("lab", "enroll_lab"))


def get_room(name: str) -> Room:
    try:
        return ROOMS[name]
    except KeyError:
        raise ValueError(f"unknown room {name!r}; choose one of {', '.join(ROOMS)}") from None


def lighting_for_pose(room: Room, rot: np.ndarray) -> Lighting:
    """Room lights (camera frame) expressed in the head frame for head rotation ``rot`` (3,)."""
    import torch

    R = rotation_matrix(torch.as_tensor(np.asarray(rot, np.float64))).numpy()  # head -> camera
    lights = tuple(Light(tuple(R.T @ np.asarray(li.direction, np.float64)), li.color, li.intensity, li.shadow)
                   for li in room.lights)
    return Lighting(lights, room.ambient, room.specular, room.shininess, room.shadows)
