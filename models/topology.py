"""The template-head topology every other module shares.

A :class:`Topology` holds the neutral template vertices, triangles, per-vertex UVs
(one non-overlapping atlas), the 68 iBUG landmark vertex ids, the salient personal
points (moles, the paper's evaluation points, sec. 4) as UV positions, and -- computed
on demand and cached -- the texel-to-triangle map with barycentric weights used by
``X(G, i, j)`` (Eq. 7).

UV convention: ``u`` grows with the texture column, ``v`` with the texture row; texel
``(i, j)`` of a ``T x T`` texture has its centre at ``uv = ((j + .5) / T, (i + .5) / T)``.

Assets are versioned ``.npz`` files in ``models/assets`` (``<name>.npz``); the generator
of the real head lives in ``studio/``. :func:`make_test_mesh` builds a small mesh for tests.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TOPOLOGY_FORMAT = 1
ASSET_DIR = Path(__file__).resolve().parent / "assets"
N_LANDMARKS = 68


class TopologyError(RuntimeError):
    """A topology asset is missing, of the wrong version or inconsistent."""


@dataclass(eq=False)
class Topology:
    """Template head. Shapes: vertices (V, 3), faces (F, 3), uvs (V, 2), landmark_ids (68,),
    salient_uv (M, 2)."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    landmark_ids: np.ndarray
    salient_uv: np.ndarray
    extras: dict = field(default_factory=dict)  # optional named arrays (e.g. studio blend shapes)
    _texel_cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, np.float32)
        self.faces = np.ascontiguousarray(self.faces, np.int64)
        self.uvs = np.ascontiguousarray(self.uvs, np.float32)
        self.landmark_ids = np.ascontiguousarray(self.landmark_ids, np.int64)
        self.salient_uv = np.ascontiguousarray(self.salient_uv, np.float32).reshape(-1, 2)
        V = len(self.vertices)
        problems = []
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            problems.append(f"vertices must be (V, 3), got {self.vertices.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            problems.append(f"faces must be (F, 3), got {self.faces.shape}")
        elif self.faces.min() < 0 or self.faces.max() >= V:
            problems.append("faces index outside the vertex range")
        if self.uvs.shape != (V, 2):
            problems.append(f"uvs must be ({V}, 2), got {self.uvs.shape}")
        if self.landmark_ids.shape != (N_LANDMARKS,):
            problems.append(f"landmark_ids must be (68,), got {self.landmark_ids.shape}")
        elif len(set(self.landmark_ids.tolist())) != N_LANDMARKS:
            problems.append("landmark_ids must be unique")
        if problems:
            raise TopologyError(f"topology {self.name!r} is inconsistent: " + "; ".join(problems))

    # ------------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    def digest(self) -> str:
        """Stable hash of the arrays that define the topology (stored in bundles)."""
        h = hashlib.sha256()
        for a in (self.vertices, self.faces, self.uvs, self.landmark_ids, self.salient_uv):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    def texel_map(self, T: int) -> tuple[np.ndarray, np.ndarray]:
        """Texel-to-triangle map for a ``T x T`` texture (cached).

        Returns ``face (T, T) int64`` (-1 where no triangle covers the texel) and
        ``bary (T, T, 3) float32`` barycentric weights of the texel centre.
        """
        if T not in self._texel_cache:
            self._texel_cache[T] = rasterize_uv(self.uvs, self.faces, T)
        return self._texel_cache[T]

    def locate_uv(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Triangle id and barycentrics of UV points. Shapes: (M, 2) -> (M,), (M, 3)."""
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        tri = self.uvs[self.faces].astype(np.float64)  # (F, 3, 2)
        fid = np.full(len(uv), -1, np.int64)
        bary = np.zeros((len(uv), 3), np.float32)
        for m, p in enumerate(uv):
            b = _barycentric(tri, p[None])  # (F, 3)
            inside = np.where((b >= -1e-9).all(1))[0]
            if len(inside):
                fid[m] = inside[0]
                bary[m] = b[inside[0]]
        if (fid < 0).any():
            raise TopologyError(f"UV points outside the atlas: {uv[fid < 0].tolist()}")
        return fid, bary

    def salient_points(self, G: np.ndarray) -> np.ndarray:
        """3D positions of the salient points (moles) on geometry G. (..., V, 3) -> (..., M, 3)."""
        fid, bary = self.locate_uv(self.salient_uv)
        tri = np.asarray(G)[..., self.faces[fid], :]  # (..., M, 3, 3)
        return (tri * bary[..., None]).sum(-2)

    # ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        path = Path(path)
        arrays = dict(
            format=np.int64(TOPOLOGY_FORMAT),
            name=np.array(self.name),
            vertices=self.vertices,
            faces=self.faces,
            uvs=self.uvs,
            landmark_ids=self.landmark_ids,
            salient_uv=self.salient_uv,
        )
        for k, v in self.extras.items():
            arrays[f"extra__{k}"] = np.asarray(v)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Topology:
        path = Path(path)
        if not path.exists():
            raise TopologyError(f"topology asset {path} not found")
        try:
            with np.load(path, allow_pickle=False) as z:
                fmt = int(z["format"])
                if fmt != TOPOLOGY_FORMAT:
                    raise TopologyError(
                        f"topology asset {path} has format {fmt}, this code reads format {TOPOLOGY_FORMAT}; "
                        "regenerate it with `python -m studio head`"
                    )
                extras = {k[len("extra__"):]: z[k] for k in z.files if k.startswith("extra__")}
                return cls(
                    name=str(z["name"]),
                    vertices=z["vertices"],
                    faces=z["faces"],
                    uvs=z["uvs"],
                    landmark_ids=z["landmark_ids"],
                    salient_uv=z["salient_uv"],
                    extras=extras,
                )
        except TopologyError:
            raise
        except Exception as e:  # corrupt zip, missing key, ...
            raise TopologyError(f"topology asset {path} is unreadable ({e})") from e


# ----------------------------------------------------------------------
def _barycentric(tri: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Barycentric coordinates of points p (N, 2) in triangles tri (N or 1, 3, 2) -> (N, 3)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1, v2 = b - a, c - a, p - a
    d = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    d = np.where(np.abs(d) < 1e-15, 1e-15, d)
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / d
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / d
    return np.stack([1 - l1 - l2, l1, l2], -1)


def rasterize_uv(uvs: np.ndarray, faces: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise UV triangles onto texel centres. Returns face (T, T) int64, bary (T, T, 3)."""
    face = np.full((T, T), -1, np.int64)
    bary = np.zeros((T, T, 3), np.float32)
    tri_px = uvs[faces].astype(np.float64) * T - 0.5  # (F, 3, 2) in texel-centre coordinates
    lo = np.clip(np.floor(tri_px.min(1)).astype(int), 0, T - 1)
    hi = np.clip(np.ceil(tri_px.max(1)).astype(int), 0, T - 1)
    for f in range(len(faces)):
        (j0, i0), (j1, i1) = lo[f], hi[f]
        jj, ii = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1))
        p = np.stack([jj.ravel(), ii.ravel()], -1).astype(np.float64)
        b = _barycentric(tri_px[f][None], p)
        inside = (b >= -1e-7).all(1)
        if inside.any():
            face[ii.ravel()[inside], jj.ravel()[inside]] = f
            bary[ii.ravel()[inside], jj.ravel()[inside]] = b[inside]
    return face, bary


def canonical_landmarks_2d() -> np.ndarray:
    """Approximate iBUG-68 mean layout on a face spanning about [-1, 1]^2 (x right, y down).

    Index order is the iBUG one: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67.
    Image-left landmarks (e.g. eye 36-41) are the subject's right side.
    """
    th = np.linspace(0.0, np.pi, 17)
    jaw = np.stack([-0.95 * np.cos(th), -0.25 + 1.25 * np.sin(th) ** 1.2], -1)
    brow_l = np.stack([np.linspace(-0.78, -0.16, 5), [-0.50, -0.58, -0.61, -0.59, -0.55]], -1)
    brow_r = brow_l[::-1] * [-1, 1]
    bridge = np.stack([np.zeros(4), [-0.40, -0.26, -0.12, 0.02]], -1)
    nostr = np.array([[-0.18, 0.16], [-0.09, 0.19], [0.0, 0.21], [0.09, 0.19], [0.18, 0.16]])
    eye_l = np.array([[-0.62, -0.30], [-0.50, -0.37], [-0.34, -0.37], [-0.22, -0.30], [-0.34, -0.24],
                      [-0.50, -0.24]])
    eye_r = eye_l[[3, 2, 1, 0, 5, 4]] * [-1, 1]
    mouth_o = np.array([[-0.36, 0.50], [-0.24, 0.43], [-0.10, 0.40], [0.0, 0.42], [0.10, 0.40],
                        [0.24, 0.43], [0.36, 0.50], [0.24, 0.60], [0.10, 0.64], [0.0, 0.65],
                        [-0.10, 0.64], [-0.24, 0.60]])
    mouth_i = np.array([[-0.30, 0.50], [-0.10, 0.47], [0.0, 0.475], [0.10, 0.47], [0.30, 0.50],
                        [0.10, 0.535], [0.0, 0.54], [-0.10, 0.535]])
    pts = np.concatenate([jaw, brow_l, brow_r, bridge, nostr, eye_l, eye_r, mouth_o, mouth_i])
    assert pts.shape == (68, 2)
    return pts.astype(np.float32)


def make_test_mesh(n: int = 41, name: str = "test") -> Topology:
    """A small face-like height field (n x n grid) with planar UVs, for unit tests.

    The surface bulges towards the camera (-z) with a nose ridge; landmarks are the
    nearest unused grid vertices to :func:`canonical_landmarks_2d`.
    """
    xs = np.linspace(-1.1, 1.1, n)
    ys = np.linspace(-1.1, 1.2, n)
    X, Y = np.meshgrid(xs, ys)
    r2 = (X / 1.2) ** 2 + (Y / 1.4) ** 2
    Z = -0.6 * np.sqrt(np.clip(1.0 - r2, 0.0, None)) - 0.25 * np.exp(-(X**2) / 0.01 - (Y - 0.0) ** 2 / 0.08)
    verts = np.stack([X, Y, Z], -1).reshape(-1, 3)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    uvs = np.stack([(X - xs[0]) / (xs[-1] - xs[0]), (Y - ys[0]) / (ys[-1] - ys[0])], -1).reshape(-1, 2)
    used: set[int] = set()
    lmk = []
    for p in canonical_landmarks_2d():
        d2 = ((verts[:, :2] - p) ** 2).sum(1)
        for k in np.argsort(d2):
            if int(k) not in used:
                used.add(int(k))
                lmk.append(int(k))
                break
    moles_xy = np.array([[-0.62, 0.12], [0.58, 0.18], [0.05, -0.80], [-0.42, 0.80], [0.45, -0.85]])
    salient_uv = np.stack([(moles_xy[:, 0] - xs[0]) / (xs[-1] - xs[0]),
                           (moles_xy[:, 1] - ys[0]) / (ys[-1] - ys[0])], -1)
    return Topology(name, verts, faces, uvs, np.array(lmk), salient_uv)


def load_topology(name: str) -> Topology:
    """Load a topology by name: ``"test"`` builds :func:`make_test_mesh`; any other name is
    the asset ``models/assets/<name>.npz`` (or a path to an ``.npz`` file)."""
    if name == "test":
        return make_test_mesh()
    path = Path(name)
    if path.suffix != ".npz":
        path = ASSET_DIR / f"{name}.npz"
    if not path.exists():
        raise TopologyError(
            f"topology asset {path} not found; generate it with `python -m studio head --out {path}`"
        )
    return Topology.load(path)


def _has_arkit_extras(topology: Topology) -> bool:
    return "arkit_blendshapes" in topology.extras and "arkit_names" in topology.extras


@functools.lru_cache(maxsize=4)
def arkit_asset(name: str, digest: str) -> Topology | None:
    """The template asset ``name`` if its digest is ``digest`` and it has ARKit shapes, else None (cached)."""
    try:
        asset = load_topology(name)
    except (TopologyError, FileNotFoundError, OSError):
        return None
    return asset if asset.digest() == digest and _has_arkit_extras(asset) else None


def arkit_template(topology: Topology) -> Topology | None:
    """The template asset a bundle's topology was built on, with its ARKit shapes (extras
    ``arkit_blendshapes`` (K, V, 3), ``arkit_names`` (K,)), or None when there is no such asset with the
    same digest (a test mesh, an older asset, another topology). A bundle stores its topology without
    the extras; the asset is read once per process."""
    if _has_arkit_extras(topology):
        return topology
    return arkit_asset(topology.name, topology.digest())
