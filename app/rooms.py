"""Named rooms for the synthetic actor: lights (UV shading), background and camera effects.

These are the app's own small room table (a live, cheap version of the studio's "wild"
rooms). Light directions are in the head frame, pointing from the head towards the light
(``(0, 0, -1)`` is a light at the camera), colours linear RGB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from render.uv_lighting import Light, Lighting


@dataclass(frozen=True)
class Room:
    """Lighting plus the camera effects applied to the final frame (RGB order)."""

    name: str
    title: str
    lighting: Lighting
    wall: tuple[float, float, float]  # background base colour (RGB, 0..1)
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)  # white balance (RGB)
    exposure: float = 1.0
    noise: float = 0.0  # sensor noise sigma (0..1 units)
    clutter: int = 6  # number of background shapes
    shake_px: float = 0.0  # camera shake amplitude
    drift: float = 0.0  # slow white-balance/exposure drift amplitude
    extra: dict = field(default_factory=dict, compare=False)


_FRONT = (0.0, -0.3, -1.0)
ROOMS: dict[str, Room] = {r.name: r for r in (
    Room("lab", "studio lab (even white light)",
         Lighting((Light(_FRONT, (1, 1, 1), 0.75, False), Light((0.6, -0.2, -0.8), (1, 1, 1), 0.25, False)),
                  ambient=(0.35, 0.35, 0.35), shadows=False),
         wall=(0.55, 0.57, 0.6), clutter=0),
    Room("warm", "warm tungsten living room",
         Lighting((Light((-0.5, -0.4, -0.8), (1.0, 0.72, 0.45), 0.95, False),),
                  ambient=(0.22, 0.17, 0.12), shadows=False),
         wall=(0.45, 0.33, 0.22), gain=(1.08, 1.0, 0.85), noise=0.012, shake_px=0.6),
    Room("office", "cold fluorescent office",
         Lighting((Light((0.0, -0.9, -0.5), (0.85, 0.95, 1.0), 0.85, False),),
                  ambient=(0.3, 0.33, 0.36), specular_strength=0.35, shadows=False),
         wall=(0.7, 0.74, 0.78), gain=(0.92, 1.0, 1.1), noise=0.008, drift=0.04),
    Room("window", "window side light, hard shadows",
         Lighting((Light((0.95, -0.3, -0.3), (1.0, 0.98, 0.92), 1.3, True),),
                  ambient=(0.12, 0.12, 0.14), specular_strength=0.4, shadows=True),
         wall=(0.8, 0.8, 0.78), exposure=0.95, noise=0.01, shake_px=0.4),
    Room("evening", "dim evening lamp (noise, low exposure)",
         Lighting((Light((-0.3, -0.6, -0.7), (1.0, 0.8, 0.6), 0.6, False),),
                  ambient=(0.08, 0.07, 0.07), shadows=False),
         wall=(0.18, 0.16, 0.15), exposure=0.7, noise=0.035, drift=0.06, shake_px=0.8),
    Room("rgb", "coloured RGB desk light",
         Lighting((Light((-0.8, 0.0, -0.6), (0.3, 0.4, 1.0), 0.9, False),
                   Light((0.8, -0.2, -0.6), (1.0, 0.25, 0.6), 0.8, False)),
                  ambient=(0.1, 0.08, 0.12), specular_strength=0.35, shadows=False),
         wall=(0.12, 0.1, 0.2), noise=0.015, shake_px=0.5),
)}


def room(name: str) -> Room:
    """Look a room up by name; unknown names raise ValueError listing the rooms."""
    try:
        return ROOMS[name]
    except KeyError:
        raise ValueError(f"unknown synthetic room {name!r}; rooms: {', '.join(ROOMS)}") from None


def background(r: Room, width: int, height: int, seed: int = 0) -> np.ndarray:
    """A procedural room background: vertical gradient plus random furniture-like boxes.

    Shape: -> (height, width, 3) float32 RGB in [0, 1]
    """
    rng = np.random.default_rng(seed)
    y = np.linspace(0.85, 1.1, height, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(np.asarray(r.wall, np.float32) * y, (height, width, 3)).copy()
    for _ in range(r.clutter):
        w, h = int(rng.integers(width // 10, width // 3)), int(rng.integers(height // 10, height // 2))
        x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        colour = np.clip(np.asarray(r.wall) * rng.uniform(0.5, 1.5, 3), 0, 1).astype(np.float32)
        img[y0:y0 + h, x0:x0 + w] = colour
    return img
