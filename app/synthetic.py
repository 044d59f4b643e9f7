"""The synthetic actor as a live frame source: a person rendered with ``render/`` each frame.

Per frame: performance(t) -> expression + head pose -> G = person.geometry(expr) -> the
view-dependent texture for this room's lights (``render.UVShader``) -> ``render.FaceRenderer``
over the room background -> camera effects (white balance, exposure, drift, sensor noise,
shake). The 68 ground-truth landmarks (``Grab.truth``) are the projected landmark vertices.

Rendering happens in the thread that calls :meth:`SyntheticSource.open` / ``read`` (the
capture worker); the EGL context is owned by the source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np

from render.reference import rotation_matrix_np, transform_np, view_direction_np
from render.uv_lighting import Light, Lighting

from .actor import PersonInfo, load_person
from .rooms import Room, background, room
from .sources import Grab, SourceUnavailable

log = logging.getLogger(__name__)


class SyntheticSource:
    """The built-in actor in a named room (see :mod:`app.rooms`).

    ``faces(i)`` (optional) returns how many faces frame i shows: 0 (the actor stepped away),
    1, or 2 (a second, smaller person behind); default always 1.
    """

    paced = True

    def __init__(self, room_name: str = "lab", width: int = 640, height: int = 480, fps: float = 30.0,
                 seed: int = 0, faces: Callable[[int], int] | None = None, tex_size: int = 256) -> None:
        self.room_name, self.width, self.height, self.fps = room_name, width, height, fps
        self.seed, self.faces, self.tex_size = seed, faces, tex_size
        self.name = f"synthetic:{room_name}"
        self.notice = ""
        self.index = 0
        self._ready = False

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        try:
            self.room: Room = room(self.room_name)
        except ValueError as e:
            raise SourceUnavailable(str(e)) from None
        if self._ready:
            return
        from render import FaceRenderer, RenderError, UVShader, create_context

        try:
            self._ctx = create_context()
            info: PersonInfo = load_person(self.seed)
            topo = info.person.topology  # type: ignore[attr-defined]
            self._renderer = FaceRenderer(topo, self._ctx)
            self._shader = UVShader(topo, self._ctx, shadow_map_size=512)
        except RenderError as e:
            raise SourceUnavailable(f"the synthetic actor needs OpenGL (EGL): {e}") from e
        self.info, self.topology, self.notice = info, topo, info.notice
        self._albedo = np.asarray(info.person.albedo(self.tex_size), np.float32)  # type: ignore[attr-defined]
        if self._albedo.max() > 1.5:
            self._albedo = self._albedo / 255.0
        self._bg = (background(self.room, self.width, self.height, self.seed) * 255).astype(np.uint8)
        rng = np.random.default_rng(self.seed + 1)
        sigma = 255 * self.room.noise
        self._noise = [np.clip(rng.normal(0, sigma, (self.height, self.width, 3)), -64, 63).astype(np.int8)
                       for _ in range(4)] if sigma > 0 else []
        self._rng = rng
        self._ready = True

    def close(self) -> None:
        if self._ready:
            self._renderer.release()
            self._shader.release()
            self._ctx.release()
            self._ready = False

    # ------------------------------------------------------------------ frames
    def pose(self, i: int, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> tuple[dict, np.ndarray]:
        """Expression and H (frame pixels) of frame i. -> (expr, (6,))"""
        expr, p = self.info.performance(i / self.fps)
        h = self.height
        f = 0.2 * h * scale
        shake = self._rng.normal(0, self.room.shake_px, 2) if self.room.shake_px else np.zeros(2)
        cx = self.width / 2 + (p[3] + offset[0]) * h + shake[0]
        cy = self.height / 2 + (p[4] + offset[1]) * h + shake[1]
        return expr, np.array([f, p[0], p[1], p[2], cx, cy], np.float64)

    def _lighting(self, H: np.ndarray) -> Lighting:
        """Room lights are fixed in the camera frame: rotate them into the head frame."""
        R = rotation_matrix_np(H[1:4])
        li = self.room.lighting
        lights = tuple(Light(tuple(R.T @ np.asarray(x.direction)), x.color, x.intensity, x.shadow) for x in li.lights)
        return Lighting(lights, li.ambient, li.specular_strength, li.shininess, li.shadows)

    def _draw(self, expr: dict, H: np.ndarray, canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        G = self.info.person.geometry(expr)  # type: ignore[attr-defined]
        tex = self._shader.shade(G, self._albedo, view_direction_np(H), self._lighting(H))
        rgb = self._renderer.render_rgb_only(G, H, tex, (self.width, self.height), canvas)
        truth = transform_np(np.asarray(G)[self.topology.landmark_ids], H)[:, :2].astype(np.float32)
        return rgb, truth

    def read(self) -> Grab:
        if not self._ready:
            raise SourceUnavailable("synthetic source is not open")
        i = self.index
        self.index += 1
        n = 1 if self.faces is None else int(self.faces(i))
        img, truths = self._bg, []
        if n >= 2:  # a second, smaller person in the back, drawn first
            expr, H = self.pose(i + 97, scale=0.55, offset=(-0.45, -0.12))
            img, t2 = self._draw(expr, H, img)
            truths.append(t2)
        if n >= 1:
            expr, H = self.pose(i)
            img, t1 = self._draw(expr, H, img)
            truths.insert(0, t1)
        out = self._camera_effects(img, i)
        truth = np.stack(truths) if truths else np.zeros((0, 68, 2), np.float32)
        return Grab(cv2.cvtColor(out, cv2.COLOR_RGB2BGR), truth, position=i)

    def _camera_effects(self, rgb: np.ndarray, i: int) -> np.ndarray:
        r = self.room
        drift = 1.0 + r.drift * np.sin(2 * np.pi * i / (self.fps * 7.0) + np.array([0.0, 2.1, 4.2]))
        gains = np.asarray(r.gain) * r.exposure * drift
        if not np.allclose(gains, 1.0):
            lut = np.clip(np.arange(256)[:, None] * gains[None], 0, 255).astype(np.uint8)[None]  # (1, 256, 3)
            rgb = cv2.LUT(np.ascontiguousarray(rgb), lut)
        if self._noise:
            noise = self._noise[i % len(self._noise)]
            rgb = cv2.add(rgb.astype(np.int16), noise.astype(np.int16), dtype=cv2.CV_16S)
            rgb = np.clip(rgb, 0, 255).astype(np.uint8)
        return rgb
