"""Draws what the views show, in the tracking thread: camera overlays and the avatar image.

Uses ``render/`` (ModernGL, own headless EGL context, so it works offscreen, under Xvfb and
on a desktop alike). When OpenGL is unavailable it says so once and falls back to simple
OpenCV drawings (points for the avatar), so the app still runs.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from models.topology import Topology
from render.overlay import OverlayStyle
from render.reference import rotation_matrix_np, transform_np

from .packets import ViewOptions

log = logging.getLogger(__name__)


def euler_from_matrix(R: np.ndarray) -> np.ndarray:
    """Inverse of ``R = Rz @ Ry @ Rx``. (3, 3) -> (rx, ry, rz)"""
    ry = math.asin(float(np.clip(-R[2, 0], -1.0, 1.0)))
    return np.array([math.atan2(R[2, 1], R[2, 2]), ry, math.atan2(R[1, 0], R[0, 0])])


def avatar_pose(H_frame: np.ndarray, opts: ViewOptions, size: int, centre: np.ndarray, radius: float) -> np.ndarray:
    """H for the avatar view: the camera head rotation ("posed") or none ("frontal"), with the
    orbit on top; the face (``centre``, ``radius`` of its landmarks, model units) is centred in
    the view and fills about 60 % of it at zoom 1. -> (6,)"""
    R_head = rotation_matrix_np(H_frame[1:4]) if opts.avatar_mode == "posed" else np.eye(3)
    R = rotation_matrix_np(np.array([opts.pitch, opts.yaw, 0.0])) @ R_head
    f = 0.3 * size * opts.zoom / max(radius, 1e-6)
    c = f * (R @ np.asarray(centre, np.float64))
    return np.array([f, *euler_from_matrix(R), size / 2.0 - c[0], size / 2.0 - c[1]])


STYLE = OverlayStyle()


def _dots(img: np.ndarray, pts, colour, radius: int) -> None:
    for x, y in np.asarray(pts, np.float64).reshape(-1, 2):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(img, (int(round(x)), int(round(y))), radius, colour, -1, cv2.LINE_AA)


def _backdrop(size: int) -> np.ndarray:
    g = np.linspace(46, 18, size, dtype=np.float32)[:, None, None]
    return np.broadcast_to(g * np.array([1.0, 1.05, 1.2], np.float32), (size, size, 3)).astype(np.uint8)


class FrameDrawer:
    """Camera overlay + avatar renderer for one topology. Use from one thread."""

    def __init__(self, topology: Topology, use_gl: bool = True) -> None:
        self.topology = topology
        lm = topology.vertices[topology.landmark_ids].astype(np.float64)
        self.centre = lm.mean(0)  # the face, not the whole head, is what the view frames
        self.radius = float(np.linalg.norm(lm - self.centre, axis=1).max())
        self._salient = topology.locate_uv(topology.salient_uv) if len(topology.salient_uv) else None
        self.notice = ""
        self.gl = False
        self._backdrops: dict[int, np.ndarray] = {}
        if use_gl:
            try:
                from render import FaceRenderer, OverlayRenderer, create_context

                # one context each (from before render/ re-pointed its shared background sampler on
                # every draw; one shared context would now work too)
                self._ctxs = (create_context(), create_context())
                self._face = FaceRenderer(topology, self._ctxs[0])
                self._overlay = OverlayRenderer(topology, self._ctxs[1])
                self.gl = True
            except Exception as e:  # RenderError or missing GL libraries
                self.notice = f"OpenGL unavailable ({e}); overlays and avatar use simple CPU drawing"
                log.warning(self.notice)

    def backdrop(self, size: int) -> np.ndarray:
        if size not in self._backdrops:
            self._backdrops[size] = _backdrop(size)
        return self._backdrops[size]

    # ------------------------------------------------------------------ camera
    def camera(self, frame_rgb: np.ndarray, G, H_frame, detected, box, opts: ViewOptions,
               landmarks=None) -> np.ndarray:
        """Overlays on the camera frame. (H, W, 3) RGB uint8 -> same. ``landmarks`` (68, 2): the
        tracker's reported points (FrameResult.landmarks, with the per-person corrective) drawn as
        the landmark dots; without them the model's own projected landmarks are drawn.

        Points and the box are drawn with OpenCV (0.2 ms); the mesh wireframe (thousands of
        edges, back faces culled) with ``render.OverlayRenderer`` (a GL pass, ~10 ms at 640x480).
        """
        model = G is not None and H_frame is not None
        want = (model and (opts.landmarks or opts.wireframe or opts.salient)) or \
            (opts.detected and detected is not None) or (opts.box and box is not None)
        if not want:
            return frame_rgb
        if self.gl and model and opts.wireframe:
            given = landmarks is not None  # the reported points: drawn here, then the detector's on top
            out = self._overlay.render(
                frame_rgb, G, H_frame, landmarks_2d=detected if opts.detected and not given else None,
                box=box if opts.box else None, wireframe=True, landmarks=opts.landmarks and not given,
                salient=opts.salient)
            if given and opts.landmarks:
                _dots(out, landmarks, STYLE.landmark_color, 2)
            if given and opts.detected and detected is not None:
                _dots(out, detected, STYLE.detected_color, 2)
            return out
        out = frame_rgb.copy()
        P = transform_np(G, H_frame) if model else None
        if P is not None and opts.wireframe:  # no GL: plain OpenCV triangles
            cv2.polylines(out, list(np.round(P[self.topology.faces, :2]).astype(np.int32)), True,
                          (255, 255, 255), 1, cv2.LINE_AA)
        if opts.box and box is not None:
            x0, y0, side = (int(round(v)) for v in box)
            cv2.rectangle(out, (x0, y0), (x0 + side, y0 + side), STYLE.box_color, 2, cv2.LINE_AA)
        if P is not None and opts.salient and self._salient is not None:
            fid, bary = self._salient
            q = (np.asarray(G, np.float64)[self.topology.faces[fid]] * bary[..., None]).sum(1)
            _dots(out, transform_np(q, H_frame)[:, :2], STYLE.salient_color, 3)
        if P is not None and opts.landmarks:
            _dots(out, P[self.topology.landmark_ids, :2] if landmarks is None else landmarks, STYLE.landmark_color, 2)
        if opts.detected and detected is not None:
            _dots(out, detected, STYLE.detected_color, 2)
        return out

    # ------------------------------------------------------------------ avatar
    def avatar(self, G, H_frame, texture, opts: ViewOptions, alpha: float = 1.0, wait: bool = True) -> np.ndarray:
        """The avatar view image, faded to the backdrop by ``1 - alpha``. -> (s, s, 3) RGB uint8
        (``wait``: for :class:`app.pipeline.render_process.ProcessDrawer`'s interface; drawing here is synchronous)"""
        size = int(opts.avatar_size)
        bg = self.backdrop(size)
        if G is None or alpha <= 0.0:
            return bg
        H = avatar_pose(np.asarray(H_frame, np.float64), opts, size, self.centre, self.radius)
        if self.gl:
            tex = np.asarray(texture)  # (3, T, T) float in [0, 1] -> (T, T, 3) uint8: 4x less to upload
            tex = np.ascontiguousarray((np.clip(tex, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0))
            img = self._face.render_rgb_only(G, H, tex, (size, size), bg)
            if opts.avatar_wireframe:
                img = self._overlay.render(img, G, H, wireframe=True, landmarks=False, salient=False)
        else:
            img = self._cpu_avatar(G, H, texture, bg)
        if alpha < 1.0:
            img = cv2.addWeighted(img, float(alpha), bg, 1.0 - float(alpha), 0.0)
        return img

    def _cpu_avatar(self, G, H, texture, bg) -> np.ndarray:
        """Vertex splats coloured from the texture, far to near (fallback without OpenGL)."""
        img = bg.copy()
        P = transform_np(G, H)
        T = np.asarray(texture)
        tex = T.transpose(1, 2, 0) if T.shape[0] == 3 else T
        t = tex.shape[0]
        uv = np.clip((self.topology.uvs * t).astype(int), 0, t - 1)
        col = tex[uv[:, 1], uv[:, 0]]
        col = (np.clip(col, 0, 1) * 255).astype(np.uint8) if col.dtype != np.uint8 else col
        order = np.argsort(-P[:, 2])
        xy = np.round(P[order, :2]).astype(int)
        ok = (xy[:, 0] >= 0) & (xy[:, 0] < img.shape[1] - 1) & (xy[:, 1] >= 0) & (xy[:, 1] < img.shape[0] - 1)
        for dx in (0, 1):
            for dy in (0, 1):
                img[xy[ok, 1] + dy, xy[ok, 0] + dx] = col[order][ok]
        return img

    def release(self) -> None:
        if self.gl:
            self._face.release()
            self._overlay.release()
            for ctx in self._ctxs:
                ctx.release()
            self.gl = False
