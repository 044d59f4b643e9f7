"""UV-space shading pass: the view-dependent texture the deep appearance model learns.

The mesh G is rasterised at its UV positions (texel (i, j) centre at uv = ((j + .5) / T,
(i + .5) / T)); each texel gets ``albedo * (ambient + sum_k c_k max(n.l_k, 0) s_k) +
sum_k c_k ks max(n.h_k, 0)^shininess s_k`` (Blinn-Phong, ``h_k = normalize(l_k + v)``),
all in the head frame: ``l_k`` points from the head to light k, ``v`` from the head to the
camera (:func:`models.camera.view_direction`). ``s_k`` is a hard shadow from a shadow map
rendered along light k (1 without shadows). Drawing the mesh with this texture
(:class:`render.face_renderer.FaceRenderer`) gives the shaded image.
"""

from __future__ import annotations

import cv2
import moderngl
import numpy as np

from models.topology import Topology
from render.context import activate, create_context
from render.programs import check_gl_error, load_program, set_uniform, write_uniform
from render.reference import as_numpy, texture_hwc, vertex_normals_np, weld_ids
from render.textures import release_all, release_objects, upload_image
from render.uv_lighting import MAX_LIGHTS, Light, Lighting, light_matrix, shade_texels_np

__all__ = ["MAX_LIGHTS", "Light", "Lighting", "UVShader", "shade_texels_np"]

_ALBEDO, _SHADOW = 0, 1  # texture units


class UVShader:
    """Renders view-dependent textures of a :class:`Topology`. Not thread-safe.

    ``shadow_map_size`` is the side of each light's shadow map; ``pad`` the number of texels
    the result is dilated past the atlas borders (so bilinear sampling at seams stays clean).
    """

    def __init__(self, topology: Topology, ctx: moderngl.Context | None = None,
                 shadow_map_size: int = 1024, pad: int = 2) -> None:
        self.topology = topology
        self.shadow_map_size = int(shadow_map_size)
        self.pad = int(pad)
        self._owns_ctx = ctx is None
        self.ctx = create_context() if ctx is None else ctx
        activate(self.ctx)
        ctx = self.ctx
        V = topology.n_vertices
        self._weld = weld_ids(topology.vertices)  # seam duplicates share normals
        self._vbo_pos = ctx.buffer(reserve=V * 12, dynamic=True)
        self._vbo_nrm = ctx.buffer(reserve=V * 12, dynamic=True)
        self._vbo_uv = ctx.buffer(np.ascontiguousarray(topology.uvs, np.float32))
        self._ibo = ctx.buffer(np.ascontiguousarray(topology.faces, np.int32))
        self._prog = load_program(ctx, "uv_shading")
        self._depth_prog = load_program(ctx, "shadow_depth")
        set_uniform(self._prog, "u_albedo", _ALBEDO)
        set_uniform(self._prog, "u_shadow_map", _SHADOW)
        self._vao = ctx.vertex_array(
            self._prog,
            [(self._vbo_uv, "2f", "in_uv"), (self._vbo_pos, "3f", "in_pos"), (self._vbo_nrm, "3f", "in_normal")],
            index_buffer=self._ibo, index_element_size=4,
        )
        self._depth_vao = ctx.vertex_array(self._depth_prog, [(self._vbo_pos, "3f", "in_pos")],
                                           index_buffer=self._ibo, index_element_size=4)
        self._cache: dict = {}

    def shade(self, G: object, albedo: object, view_dir: object, lighting: Lighting,
              size: int | None = None) -> np.ndarray:
        """View-dependent texture in [0, 1]; uncovered texels (beyond ``pad``) are 0.

        Shape:
            G: (V, 3), albedo: (T, T, 3) uint8/float or (3, T, T) float, view_dir: (3,)
            -> (size, size, 3) float32 (size defaults to the albedo's T)
        """
        return self.shade_with_mask(G, albedo, view_dir, lighting, size)[0]

    def shade_with_mask(self, G: object, albedo: object, view_dir: object, lighting: Lighting,
                        size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`shade` plus the mask of texels covered by a triangle. -> (T, T, 3), (T, T) bool."""
        activate(self.ctx)
        ctx, prog = self.ctx, self._prog
        G = as_numpy(G, np.float32)
        if G.shape != (self.topology.n_vertices, 3):
            raise ValueError(f"G must be ({self.topology.n_vertices}, 3), got {G.shape}")
        alb = texture_hwc(albedo)
        T = int(size or alb.shape[0])
        v = as_numpy(view_dir, np.float64).reshape(3)
        v = v / max(np.linalg.norm(v), 1e-12)
        lights = lighting.lights
        self._vbo_pos.write(np.ascontiguousarray(G))
        self._vbo_nrm.write(vertex_normals_np(G, self.topology.faces, self._weld))
        slots = self._shadow_pass(G, lighting)
        # uniforms
        L = MAX_LIGHTS
        dirs, rgbs = np.zeros((L, 3), np.float32), np.zeros((L, 3), np.float32)
        mvps, offs, bias = np.zeros((L, 4, 4), np.float32), np.zeros(L, np.float32), np.zeros(L, np.float32)
        slot_ids = np.full(L, -1, np.int32)
        for k, light in enumerate(lights):
            dirs[k], rgbs[k] = light.unit_direction(), light.rgb()
            if k in slots:
                slot_ids[k], (mvps[k], offs[k], bias[k]) = slots[k][0], slots[k][1:]
        set_uniform(prog, "u_n_lights", len(lights))
        write_uniform(prog, "u_light_dir", dirs.tobytes())
        write_uniform(prog, "u_light_rgb", rgbs.tobytes())
        write_uniform(prog, "u_light_slot", slot_ids.tobytes())
        write_uniform(prog, "u_light_mvp", np.ascontiguousarray(mvps.transpose(0, 2, 1)).tobytes())
        write_uniform(prog, "u_shadow_offset", offs.tobytes())
        write_uniform(prog, "u_shadow_bias", bias.tobytes())
        set_uniform(prog, "u_n_slots", max(len(slots), 1))
        set_uniform(prog, "u_ambient", tuple(float(c) for c in lighting.ambient))
        set_uniform(prog, "u_view_dir", tuple(float(c) for c in v))
        set_uniform(prog, "u_spec_strength", float(lighting.specular_strength))
        set_uniform(prog, "u_shininess", float(lighting.shininess))
        set_uniform(prog, "u_out_size", (float(T), float(T)))
        # UV pass
        upload_image(ctx, self._cache, "albedo", alb, linear=True).use(_ALBEDO)
        self._shadow_atlas(max(len(slots), 1))[1].use(_SHADOW)
        fbo = self._target(T)
        fbo.use()
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        fbo.clear(-1.0, -1.0, -1.0, -1.0)  # float target: negative marks uncovered texels
        self._vao.render(moderngl.TRIANGLES)
        out = np.empty((T, T, 3), np.float32)
        fbo.read_into(out, components=3, dtype="f4")
        check_gl_error(ctx, "UVShader.shade")
        mask = out[..., 0] >= 0.0
        self._dilate(out, mask)
        np.maximum(out, 0.0, out=out)  # texels beyond the padding -> 0
        return out, mask

    def release(self) -> None:
        """Free the GL objects (and the context if this shader created it)."""
        activate(self.ctx)
        release_all(self.ctx, self._cache)
        for o in (self._vao, self._depth_vao, self._vbo_pos, self._vbo_nrm, self._vbo_uv, self._ibo):
            o.release()
        if self._owns_ctx:
            self.ctx.release()

    # ------------------------------------------------------------------ internals
    def _shadow_pass(self, G: np.ndarray, lighting: Lighting) -> dict[int, tuple]:
        """Render one depth map per shadowed light into the atlas.

        Returns ``{light index: (slot, mvp (4, 4), normal offset, depth bias)}``.
        """
        shadowed = [k for k, li in enumerate(lighting.lights) if lighting.shadows and li.shadow]
        if not shadowed:
            return {}
        S = self.shadow_map_size
        fbo, _ = self._shadow_atlas(len(shadowed))
        fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.CULL_FACE | moderngl.BLEND)
        self.ctx.depth_func = "<"
        fbo.clear(depth=1.0)
        out = {}
        for slot, k in enumerate(shadowed):
            mvp, texel, depth_range = light_matrix(G, lighting.lights[k].unit_direction(), S)
            fbo.viewport = (slot * S, 0, S, S)
            write_uniform(self._depth_prog, "u_mvp", np.ascontiguousarray(mvp.T, np.float32).tobytes())
            self._depth_vao.render(moderngl.TRIANGLES)
            out[k] = (slot, mvp, 1.5 * texel, 1.5 * texel / depth_range)
        self.ctx.disable(moderngl.DEPTH_TEST)
        check_gl_error(self.ctx, "UVShader shadow pass")
        return out

    def _shadow_atlas(self, n: int) -> tuple[moderngl.Framebuffer, moderngl.Texture]:
        S = self.shadow_map_size
        old = self._cache.get("shadow")
        if old is not None and old[0] == n:
            return old[1]
        if old is not None:
            release_objects(self.ctx, old[1])
        tex = self.ctx.depth_texture((S * n, S))
        tex.compare_func = "<="
        tex.filter = (moderngl.LINEAR, moderngl.LINEAR)  # 2x2 percentage-closer filtering
        tex.repeat_x = tex.repeat_y = False
        fbo = self.ctx.framebuffer(depth_attachment=tex)
        self._cache["shadow"] = (n, (fbo, tex))
        return fbo, tex

    def _target(self, T: int) -> moderngl.Framebuffer:
        old = self._cache.get("target")
        if old is not None and old[0] == T:
            return old[1][0]
        if old is not None:
            release_objects(self.ctx, old[1])
        tex = self.ctx.texture((T, T), 4, dtype="f4")
        fbo = self.ctx.framebuffer([tex])
        self._cache["target"] = (T, (fbo, tex))
        return fbo

    def _dilate(self, rgb: np.ndarray, mask: np.ndarray) -> None:
        """In place: give up to ``pad`` rings of texels outside the atlas the mean of their
        covered 8-neighbours (only the border band is touched). Shape: (T, T, 3), (T, T)."""
        T = rgb.shape[0]
        m = mask.astype(np.uint8)
        kernel = np.ones((3, 3), np.uint8)
        for _ in range(self.pad):
            ys, xs = np.nonzero(cv2.dilate(m, kernel) > m)
            if len(ys) == 0:
                break
            acc = np.zeros((len(ys), 3), np.float32)
            cnt = np.zeros(len(ys), np.float32)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yy, xx = np.clip(ys + dy, 0, T - 1), np.clip(xs + dx, 0, T - 1)
                    ok = m[yy, xx].astype(np.float32) * ((ys + dy == yy) & (xs + dx == xx))
                    acc += rgb[yy, xx] * ok[:, None]
                    cnt += ok
            rgb[ys, xs] = acc / cnt[:, None]
            m[ys, xs] = 1
