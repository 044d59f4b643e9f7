"""The synthetic actor as a live frame source: the studio person rendered with ``render/``.

Per frame: the studio performance -> expression + head pose -> G = person.geometry(expr) ->
the view-dependent texture under the room's lights (``studio.rooms``, ``render.UVShader``) ->
``render.FaceRenderer`` over the room background -> live camera effects (white balance and
exposure drift, gamma, sensor noise, shake: a cheap version of ``studio.camera_fx.apply_fx``
without motion blur and JPEG, so that it keeps 30 FPS next to the tracker on 2 cores). The 68
ground-truth landmarks (``Grab.truth``) are the projected landmark vertices.

Rooms: ``lab``, ``tungsten``, ``office``, ``window``, ``evening``, ``rgb_desk`` (the studio's);
``warm`` and ``rgb`` are aliases. Rendering happens in the thread that calls ``open`` / ``read``
(the capture worker); the EGL context is owned by the source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np

from render.reference import transform_np, view_direction_np
from studio.camera_fx import clutter_background, plain_background, shake
from studio.rooms import ROOMS, Room, get_room, lighting_for_pose

from .actor import PersonInfo, load_person
from .base import Grab, SourceUnavailable

log = logging.getLogger(__name__)
ALIASES = {"warm": "tungsten", "rgb": "rgb_desk"}
ROOM_NAMES = tuple(r for r in ROOMS if r != "enroll_lab")  # that one is for enrollment labs only


class SyntheticSource:
    """The built-in actor (studio person) in a named studio room.

    ``faces(i)`` (optional) returns how many faces frame i shows: 0 (the actor stepped away),
    1, or 2 (a second, smaller person behind); default always 1.
    """

    paced = True

    def __init__(self, room_name: str = "lab", width: int = 640, height: int = 480, fps: float = 30.0,
                 seed: int = 0, faces: Callable[[int], int] | None = None, tex_size: int = 128,
                 shade_every: int = 2) -> None:
        self.room_name, self.width, self.height, self.fps = room_name, width, height, fps
        self.seed, self.faces, self.tex_size, self.shade_every = seed, faces, tex_size, max(1, shade_every)
        self._tex: dict[int, np.ndarray] = {}
        self.name = f"synthetic:{room_name}"
        self.notice = ""
        self.index = 0
        self._ready = False

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        try:
            self.room: Room = get_room(ALIASES.get(self.room_name, self.room_name))
        except ValueError as e:
            raise SourceUnavailable(f"{e} (synthetic:ROOM)") from None
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
        rng = np.random.default_rng(self.seed + 1)
        fx, size = self.room.fx, (self.width, self.height)
        bg = (clutter_background(size, rng) if fx.background == "clutter"
              else plain_background(size, fx.background_color))
        self._bg = (bg * 255 + 0.5).astype(np.uint8)
        sigma = 255 * fx.noise
        self._noise = [np.clip(rng.normal(0, sigma, (self.height, self.width, 3)), -127, 127).astype(np.int16)
                       for _ in range(4)] if sigma > 0 else []
        self._shake = shake(600, fx.shake_px * self.width / 256, rng)
        self._ready = True

    def close(self) -> None:
        if self._ready:
            self._renderer.release()
            self._shader.release()
            self._ctx.release()
            self._ready = False

    # ------------------------------------------------------------------ frames
    def pose(self, i: int, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> tuple[object, np.ndarray]:
        """Expression and H (frame pixels) of frame i, framed as ``studio.capture.capture_wild``. -> (expr, (6,))"""
        expr, rot, shift = self.info.performance(i)
        f = 0.14 * self.width * scale
        jitter = self._shake[i % len(self._shake)]
        cx = self.width / 2 + 2 * f * shift[0] + offset[0] * self.width + jitter[0]
        cy = self.height / 2 + 2 * f * shift[1] + offset[1] * self.height + jitter[1]
        return expr, np.array([f, *rot, cx, cy], np.float64)

    def _draw(self, expr: object, H: np.ndarray, canvas: np.ndarray, slot: int = 0) -> tuple[np.ndarray, np.ndarray]:
        G = self.info.person.geometry(expr)  # type: ignore[attr-defined]
        tex = self._tex.get(slot)
        if tex is None or self.index % self.shade_every == 0:  # shading changes slowly: every n-th frame
            tex = self._shader.shade(G, self._albedo, view_direction_np(H), lighting_for_pose(self.room, H[1:4]))
            self._tex[slot] = tex
        P = transform_np(G, H)[:, :2]
        truth = P[self.topology.landmark_ids].astype(np.float32)
        # render only the head's bounding box (3-4x fewer pixels to upload and read back), paste it in
        x0, y0 = np.maximum(np.floor(P.min(0)).astype(int) - 2, 0)
        x1, y1 = np.minimum(np.ceil(P.max(0)).astype(int) + 3, (self.width, self.height))
        out = canvas.copy()
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            Hb = H.copy()
            Hb[4:6] -= (x0, y0)
            out[y0:y1, x0:x1] = self._renderer.render_rgb_only(G, Hb, tex, (int(x1 - x0), int(y1 - y0)),
                                                               np.ascontiguousarray(canvas[y0:y1, x0:x1]))
        return out, truth

    def read(self) -> Grab:
        if not self._ready:
            raise SourceUnavailable("synthetic source is not open")
        i = self.index
        self.index += 1
        n = 1 if self.faces is None else int(self.faces(i))
        img, truths = self._bg, []
        if n >= 2:  # a second, smaller person in the back, drawn first
            expr, H = self.pose(i + 97, scale=0.6, offset=(-0.3, -0.12))
            img, t2 = self._draw(expr, H, img, slot=1)
            truths.append(t2)
        if n >= 1:
            expr, H = self.pose(i)
            img, t1 = self._draw(expr, H, img)
            truths.insert(0, t1)
        out = self._camera_effects(img, i)
        truth = np.stack(truths) if truths else np.zeros((0, 68, 2), np.float32)
        return Grab(cv2.cvtColor(out, cv2.COLOR_RGB2BGR), truth, position=i)

    def _camera_effects(self, rgb: np.ndarray, i: int) -> np.ndarray:
        """White balance + exposure drifting over a 20 s cycle, gamma, sensor noise. RGB uint8 -> RGB uint8"""
        fx = self.room.fx
        t = 0.5 - 0.5 * np.cos(2 * np.pi * i / (20.0 * self.fps))
        gain = ((1 - t) * np.asarray(fx.wb_start) + t * np.asarray(fx.wb_end)) * \
            ((1 - t) * fx.exposure_start + t * fx.exposure_end)
        if not np.allclose(gain, 1.0) or fx.gamma != 1.0:
            x = np.clip(np.arange(256)[:, None] / 255.0 * gain[None], 0, 1) ** (1.0 / fx.gamma)
            rgb = cv2.LUT(np.ascontiguousarray(rgb), (x * 255 + 0.5).astype(np.uint8)[None])  # (1, 256, 3)
        if self._noise:
            rgb = np.clip(rgb.astype(np.int16) + self._noise[i % len(self._noise)], 0, 255).astype(np.uint8)
        return rgb
