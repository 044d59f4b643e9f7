"""Face renderer: mesh G posed by H (weak perspective), textured, over a background.

The posing ``f R X + (tx, ty, 0)`` runs in the vertex shader from uniforms, so it agrees
with :func:`models.camera.transform` / :func:`render.reference.transform_np`; pixel (c, r)
of the result has its centre at crop coordinates (c, r), y down. Near surfaces (smaller
transform z) win the depth test; back faces are drawn too (no culling).

Channel order is passed through: use the same order (RGB or BGR) for texture and background.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from models.topology import Topology
from render.context import activate, create_context
from render.posed_mesh import PosedMesh
from render.programs import check_gl_error, load_program, set_uniform
from render.reference import as_numpy, texture_hwc
from render.textures import release_all, release_objects, upload_image

_TEX, _BG = 0, 1  # texture units


@dataclass(frozen=True, eq=False)
class RenderResult:
    """One rendered frame. Shapes: rgb (h, w, 3) uint8; depth (h, w) float32 (transform z in
    pixel units, +inf on background); tri_id (h, w) int32 (-1 on background); bary (h, w, 3)
    float32 (weights of ``faces[tri_id]``' vertices, 0 on background)."""

    rgb: np.ndarray
    depth: np.ndarray
    tri_id: np.ndarray
    bary: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """Pixels covered by the mesh. Shape: (h, w) bool."""
        return self.tri_id >= 0


class FaceRenderer:
    """Draws a :class:`Topology`'s mesh. Not thread-safe: use it from one thread.

    ``ctx=None`` creates (and owns) a headless EGL context; pass ``attach_context()`` to draw
    with a GUI toolkit's current context.
    """

    def __init__(self, topology: Topology, ctx: moderngl.Context | None = None) -> None:
        self.topology = topology
        self._owns_ctx = ctx is None
        self.ctx = create_context() if ctx is None else ctx
        activate(self.ctx)
        ctx = self.ctx
        self._mesh = PosedMesh(ctx, topology)
        self._progs, self._vaos = {}, {}
        for full in (True, False):
            defines = {} if full else {"RGB_ONLY": 1}
            face = load_program(ctx, "face", defines)
            bg = load_program(ctx, "background", defines)
            set_uniform(face, "u_texture", _TEX)
            set_uniform(bg, "u_background", _BG)
            self._progs[full] = (face, bg)
            self._vaos[full] = (self._mesh.vertex_array(face), ctx.vertex_array(bg, []))
        self._cache: dict = {}  # role -> (signature, GL object(s))
        self._texture: moderngl.Texture | None = None

    # ------------------------------------------------------------------ public API
    def set_texture(self, texture: object) -> None:
        """Upload the face texture (kept until the next call; ``texture=None`` draws reuse it).

        Shape:
            texture: (3, T, T) float in [0, 1] (torch or numpy) | (T, T, 3) uint8 or float
        """
        activate(self.ctx)
        self._texture = upload_image(self.ctx, self._cache, "texture", texture_hwc(texture))

    def render(
        self, G: object, H: object, texture: object | None, size: tuple[int, int],
        background: np.ndarray | None = None,
    ) -> RenderResult:
        """Render colour, camera depth, triangle ids and barycentrics.

        Shape:
            G: (V, 3), H: (6,), texture: see :meth:`set_texture`, size: (w, h),
            background: (h, w, 3) uint8 or float in [0, 1] -> RenderResult (h, w, ...)
        """
        w, h = size
        fbo = self._target(size, full=True)
        self._draw(fbo, G, H, texture, size, background, full=True, flip_y=1.0)
        rgb = np.empty((h, w, 3), np.uint8)
        bd = np.empty((h, w, 4), np.float32)
        tri = np.empty((h, w), np.int32)
        fbo.read_into(rgb, components=3, attachment=0)
        fbo.read_into(bd, components=4, attachment=1, dtype="f4")
        fbo.read_into(tri, components=1, attachment=2, dtype="i4")
        check_gl_error(self.ctx, "FaceRenderer.render read-back")
        return RenderResult(rgb, np.ascontiguousarray(bd[..., 3]), tri, np.ascontiguousarray(bd[..., :3]))

    def render_rgb_only(
        self, G: object, H: object, texture: object | None, size: tuple[int, int],
        background: np.ndarray | None = None,
    ) -> np.ndarray:
        """Fast path for the live view: colour only. Shape: as :meth:`render` -> (h, w, 3) uint8."""
        w, h = size
        fbo = self._target(size, full=False)
        self._draw(fbo, G, H, texture, size, background, full=False, flip_y=1.0)
        rgb = np.empty((h, w, 3), np.uint8)
        fbo.read_into(rgb, components=3, attachment=0)
        check_gl_error(self.ctx, "FaceRenderer.render_rgb_only read-back")
        return rgb

    def draw_to(
        self, framebuffer: moderngl.Framebuffer, G: object, H: object, texture: object | None = None,
        background: np.ndarray | None = None, flip_y: bool = True,
    ) -> None:
        """Draw colour into an existing framebuffer (e.g. ``ctx.detect_framebuffer()`` of a GUI
        widget); ``flip_y`` puts image row 0 at the top of a window. Its viewport size is
        the crop size (pixel units of H)."""
        size = framebuffer.viewport[2:]
        self._draw(framebuffer, G, H, texture, size, background, full=False, flip_y=-1.0 if flip_y else 1.0)

    def release(self) -> None:
        """Free the GL objects (and the context if this renderer created it)."""
        activate(self.ctx)
        release_all(self.ctx, self._cache)
        for vaos in self._vaos.values():
            for v in vaos:
                v.release()
        self._mesh.release()
        if self._owns_ctx:
            self.ctx.release()

    # ------------------------------------------------------------------ internals
    def _target(self, size: tuple[int, int], full: bool) -> moderngl.Framebuffer:
        role = "target_full" if full else "target_rgb"
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0:
            raise ValueError(f"size must be positive (w, h), got {size}")
        old = self._cache.get(role)
        if old is not None and old[0] == (w, h):
            return old[1][0]
        activate(self.ctx)
        if old is not None:
            release_objects(self.ctx, old[1])
        ctx = self.ctx
        colors = [ctx.texture((w, h), 4)]
        if full:
            colors += [ctx.texture((w, h), 4, dtype="f4"), ctx.texture((w, h), 1, dtype="i4")]
        depth = ctx.depth_renderbuffer((w, h))
        fbo = ctx.framebuffer(colors, depth)
        self._cache[role] = ((w, h), (fbo, *colors, depth))
        return fbo

    def _draw(
        self, fbo: moderngl.Framebuffer, G: object, H: object, texture: object | None,
        size: tuple[int, int], background: np.ndarray | None, full: bool, flip_y: float,
    ) -> None:
        activate(self.ctx)
        ctx = self.ctx
        G, H = PosedMesh.check_pose(G, H, self.topology)
        if texture is not None:
            self.set_texture(texture)
        if self._texture is None:
            raise ValueError("no texture: pass one or call set_texture() first")
        face, bg = self._progs[full]
        face_vao, bg_vao = self._vaos[full]
        w, h = size
        has_bg = background is not None
        if has_bg:
            b = as_numpy(background)
            if b.shape != (h, w, 3):
                raise ValueError(f"background must be (h, w, 3) = ({h}, {w}, 3), got {b.shape}")
            upload_image(ctx, self._cache, "background", b, linear=False).use(_BG)
        self._mesh.upload(G)
        self._mesh.set_pose(face, H, (w, h), flip_y)
        set_uniform(bg, "u_background", _BG)  # programs are cached per context: another user may re-point it
        set_uniform(bg, "u_has_background", has_bg)
        set_uniform(bg, "u_clear_color", (0.0, 0.0, 0.0))
        set_uniform(bg, "u_flip_y", flip_y)
        fbo.use()
        ctx.disable(moderngl.BLEND | moderngl.CULL_FACE | moderngl.DEPTH_TEST)
        fbo.clear(depth=1.0)
        bg_vao.render(moderngl.TRIANGLES, vertices=3)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.depth_func = "<"
        self._texture.use(_TEX)
        face_vao.render(moderngl.TRIANGLES)
        ctx.disable(moderngl.DEPTH_TEST)
        check_gl_error(ctx, f"FaceRenderer draw ({'full' if full else 'rgb'})")
