"""Overlay pass: landmarks, wireframe, salient points (moles) and the face box on an image.

Points and the box are anti-aliased capsules (a point is a zero-length segment) drawn by
``shaders/overlay.*`` (a geometry shader builds the quads). The wireframe is a barycentric
edge pass over the posed mesh (``face`` program, ``WIREFRAME`` variant) after a depth
pre-pass, so edges hidden by the surface stay hidden. Coordinates are image pixels with
pixel (c, r) centred at (c, r), y down, like :func:`models.camera.project`. Colours are
0-255 in the image's channel order.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from models.topology import Topology
from render.context import activate, create_context
from render.posed_mesh import PosedMesh
from render.programs import check_gl_error, load_program, set_uniform
from render.reference import as_numpy, transform_np
from render.textures import release_all, release_objects, upload_image

Color = tuple[int, int, int]


@dataclass(frozen=True)
class OverlayStyle:
    """Colours (0-255), alphas and sizes (pixels) of the overlay items."""

    landmark_color: Color = (0, 255, 0)
    landmark_size: float = 3.0
    detected_color: Color = (255, 0, 255)
    detected_size: float = 3.0
    wire_color: Color = (255, 255, 255)
    wire_alpha: float = 0.35
    wire_width: float = 1.0
    salient_color: Color = (255, 200, 0)
    salient_size: float = 5.0
    box_color: Color = (0, 200, 255)
    box_width: float = 1.5


class Segments:
    """Accumulates coloured segments as vertex data (x, y, r, g, b, a, width) per end."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []

    def add(self, a: np.ndarray, b: np.ndarray, color: Color, alpha: float, width: float) -> None:
        """Segments from a to b. Shape: a, b: (N, 2)."""
        a, b = np.asarray(a, np.float32).reshape(-1, 2), np.asarray(b, np.float32).reshape(-1, 2)
        attr = np.array([*(np.asarray(color, np.float32) / 255.0), alpha, width], np.float32)
        rows = np.empty((len(a), 2, 7), np.float32)
        rows[:, 0, :2], rows[:, 1, :2], rows[:, :, 2:] = a, b, attr
        self._parts.append(rows.reshape(-1, 7))

    def add_points(self, p: np.ndarray, color: Color, size: float) -> None:
        """Discs of diameter ``size``. Shape: p: (N, 2)."""
        self.add(p, p, color, 1.0, size)

    def data(self) -> np.ndarray:
        """Shape: -> (2 N, 7) float32."""
        return np.concatenate(self._parts) if self._parts else np.zeros((0, 7), np.float32)


class OverlayRenderer:
    """Draws overlays onto an (h, w, 3) uint8 image. Not thread-safe."""

    def __init__(self, topology: Topology, ctx: moderngl.Context | None = None,
                 style: OverlayStyle | None = None) -> None:
        self.topology = topology
        self.style = style or OverlayStyle()
        self._owns_ctx = ctx is None
        self.ctx = create_context() if ctx is None else ctx
        activate(self.ctx)
        self._salient = topology.locate_uv(topology.salient_uv) if len(topology.salient_uv) else None
        self._prog = load_program(self.ctx, "overlay")
        self._bg = load_program(self.ctx, "background", {"RGB_ONLY": 1})
        set_uniform(self._bg, "u_background", 0)
        self._bg_vao = self.ctx.vertex_array(self._bg, [])
        self._mesh = PosedMesh(self.ctx, topology)
        self._wire = load_program(self.ctx, "face", {"WIREFRAME": 1, "RGB_ONLY": 1})
        self._wire_vao = self._mesh.vertex_array(self._wire)
        self._cache: dict = {}

    def segments(self, G: object = None, H: object = None, *, landmarks_2d: object = None,
                 box: object = None, landmarks: bool = True, salient: bool = True) -> Segments:
        """The point and box overlay in pixels (no GL; the wireframe is a mesh pass). Model
        items need G and H.

        Shape:
            G: (V, 3), H: (6,), landmarks_2d: (68, 2) detector points, box: (3,) = (x0, y0, side)
        """
        s, seg = self.style, Segments()
        if G is not None and H is not None:
            G = as_numpy(G, np.float64)
            H = as_numpy(H, np.float64).reshape(6)
            P = transform_np(G, H)  # (V, 3)
            if landmarks:
                seg.add_points(P[self.topology.landmark_ids, :2], s.landmark_color, s.landmark_size)
            if salient and self._salient is not None:
                fid, bary = self._salient
                q = (G[self.topology.faces[fid]] * bary[..., None]).sum(1)
                seg.add_points(transform_np(q, H)[:, :2], s.salient_color, s.salient_size)
        if landmarks_2d is not None:
            seg.add_points(as_numpy(landmarks_2d, np.float32).reshape(-1, 2), s.detected_color, s.detected_size)
        if box is not None:
            x0, y0, side = (float(v) for v in as_numpy(box).reshape(3))
            c = np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]])
            seg.add(c, np.roll(c, -1, 0), s.box_color, 1.0, s.box_width)
        return seg

    def render(self, image: np.ndarray, G: object = None, H: object = None, *, wireframe: bool = True,
               hidden_lines: bool = True, **items: object) -> np.ndarray:
        """Draw the wireframe (needs G and H; ``hidden_lines=True`` hides edges behind the
        surface) and :meth:`segments` (same keyword arguments) over ``image``.

        Shape:
            image: (h, w, 3) uint8 -> (h, w, 3) uint8
        """
        image = as_numpy(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (h, w, 3) uint8, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        data = self.segments(G, H, **items).data()  # type: ignore[arg-type]
        activate(self.ctx)
        ctx = self.ctx
        fbo = self._target(w, h)
        upload_image(ctx, self._cache, "image", image, linear=False).use(0)
        set_uniform(self._bg, "u_background", 0)  # shared cached program (FaceRenderer uses unit 1)
        set_uniform(self._bg, "u_has_background", True)
        set_uniform(self._bg, "u_flip_y", 1.0)
        fbo.use()
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        fbo.clear(depth=1.0)  # the background pass (no depth test) leaves the depth at 1
        self._bg_vao.render(moderngl.TRIANGLES, vertices=3)
        if wireframe and G is not None and H is not None:
            self._draw_wireframe(fbo, G, H, (w, h), hidden_lines)
        if len(data):
            vao = self._segment_vao(data)
            set_uniform(self._prog, "u_size", (float(w), float(h)))
            set_uniform(self._prog, "u_flip_y", 1.0)
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
            vao.render(moderngl.LINES, vertices=len(data))
            ctx.disable(moderngl.BLEND)
        out = np.empty((h, w, 3), np.uint8)
        fbo.read_into(out, components=3)
        check_gl_error(ctx, "OverlayRenderer.render")
        return out

    def release(self) -> None:
        """Free the GL objects (and the context if this renderer created it)."""
        activate(self.ctx)
        release_all(self.ctx, self._cache)
        self._bg_vao.release()
        self._wire_vao.release()
        self._mesh.release()
        if self._owns_ctx:
            self.ctx.release()

    # ------------------------------------------------------------------
    def _target(self, w: int, h: int) -> moderngl.Framebuffer:
        old = self._cache.get("target")
        if old is not None and old[0] == (w, h):
            return old[1][0]
        if old is not None:
            release_objects(self.ctx, old[1])
        tex = self.ctx.texture((w, h), 4)
        depth = self.ctx.depth_renderbuffer((w, h))
        fbo = self.ctx.framebuffer([tex], depth)
        self._cache["target"] = ((w, h), (fbo, tex, depth))
        return fbo

    def _segment_vao(self, data: np.ndarray) -> moderngl.VertexArray:
        """Write segment vertices into a reused buffer (grown by doubling). data: (2N, 7)."""
        old = self._cache.get("segments")
        if old is None or old[0] < data.nbytes:
            if old is not None:
                release_objects(self.ctx, old[1])
            vbo = self.ctx.buffer(reserve=max(2 * data.nbytes, 4096), dynamic=True)
            vao = self.ctx.vertex_array(self._prog, [(vbo, "2f 4f 1f", "in_pos", "in_color", "in_width")])
            old = (vbo.size, (vao, vbo))
            self._cache["segments"] = old
        vao, vbo = old[1]
        vbo.write(np.ascontiguousarray(data, np.float32))
        return vao

    def _draw_wireframe(self, fbo: moderngl.Framebuffer, G: object, H: object, size: tuple[int, int],
                        hidden_lines: bool) -> None:
        """Barycentric edge pass over the posed mesh; a depth pre-pass hides occluded edges."""
        ctx, s = self.ctx, self.style
        G, H = PosedMesh.check_pose(G, H, self.topology)
        self._mesh.upload(G)
        self._mesh.set_pose(self._wire, H, size, 1.0)
        set_uniform(self._wire, "u_wire_color", (*(np.asarray(s.wire_color) / 255.0), s.wire_alpha))
        set_uniform(self._wire, "u_wire_width", float(s.wire_width))
        if hidden_lines:
            ctx.enable(moderngl.DEPTH_TEST)
            ctx.depth_func = "<"
            fbo.color_mask = (False, False, False, False)  # moderngl applies masks in use()
            fbo.use()
            self._wire_vao.render(moderngl.TRIANGLES)
            fbo.color_mask = (True, True, True, True)
            ctx.depth_func = "<="
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        fbo.depth_mask = False
        fbo.use()
        self._wire_vao.render(moderngl.TRIANGLES)
        fbo.depth_mask = True
        fbo.use()
        ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST)
