"""GPU buffers of a topology as a non-indexed triangle list, posed by ``shaders/face.vert``.

Shared by the face renderer and the overlay's wireframe pass. Corner k of triangle t is
vertex ``faces[t, k]``; the vertex shader gives it the barycentric e_k, and
``gl_PrimitiveID`` is t.
"""

from __future__ import annotations

import moderngl
import numpy as np

from models.topology import Topology
from render.programs import set_uniform, write_uniform
from render.reference import as_numpy, rotation_matrix_np


class PosedMesh:
    """Vertex buffers (positions per frame, static UVs) and the pose uniforms of face.vert."""

    def __init__(self, ctx: moderngl.Context, topology: Topology) -> None:
        self.ctx = ctx
        self.topology = topology
        self._corners = topology.faces.reshape(-1)  # (3F,)
        self.vbo_pos = ctx.buffer(reserve=len(self._corners) * 12, dynamic=True)
        self.vbo_uv = ctx.buffer(np.ascontiguousarray(topology.uvs[self._corners], np.float32))
        self._radius = 1.0

    def vertex_array(self, prog: moderngl.Program) -> moderngl.VertexArray:
        """A VAO feeding ``in_pos`` (and ``in_uv`` when the program uses it)."""
        content = [(self.vbo_pos, "3f", "in_pos")]
        if "in_uv" in prog:
            content.append((self.vbo_uv, "2f", "in_uv"))
        return self.ctx.vertex_array(prog, content)

    @staticmethod
    def check_pose(G: object, H: object, topology: Topology) -> tuple[np.ndarray, np.ndarray]:
        """Validate and convert. Shape: G (V, 3) -> float32, H (6,) -> float64."""
        G = as_numpy(G, np.float32)
        H = as_numpy(H, np.float64).reshape(-1)
        if G.shape != (topology.n_vertices, 3):
            raise ValueError(f"G must be ({topology.n_vertices}, 3) for topology {topology.name!r}, "
                             f"got {G.shape}")
        if H.shape != (6,):
            raise ValueError(f"H must be (6,) = (f, rx, ry, rz, tx, ty), got {H.shape}")
        return G, H

    def upload(self, G: np.ndarray) -> None:
        """Write the rigid-free vertices. Shape: G (V, 3) float32."""
        self.vbo_pos.write(np.ascontiguousarray(G[self._corners]))
        self._radius = float(np.sqrt((G.astype(np.float64) ** 2).sum(1).max())) if len(G) else 1.0

    def set_pose(self, prog: moderngl.Program, H: np.ndarray, size: tuple[int, int], flip_y: float) -> None:
        """Pose uniforms: R (Rz Ry Rx), f, t, target size, depth scale, y orientation."""
        R = rotation_matrix_np(H[1:4]).astype(np.float32)
        write_uniform(prog, "u_R", R.T.tobytes())  # GLSL matrices are column-major
        set_uniform(prog, "u_f", float(H[0]))
        set_uniform(prog, "u_t", (float(H[4]), float(H[5])))
        set_uniform(prog, "u_size", (float(size[0]), float(size[1])))
        # |transform z| <= |f| |X|: keeps every vertex inside the clip volume
        set_uniform(prog, "u_depth_scale", abs(float(H[0])) * self._radius * 1.01 + 1e-3)
        set_uniform(prog, "u_flip_y", flip_y)

    def release(self) -> None:
        self.vbo_pos.release()
        self.vbo_uv.release()
