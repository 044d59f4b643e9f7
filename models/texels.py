"""Texels on the posed mesh (paper sec. 3.2.1, Eq. 6-7).

* ``X(G, i, j)``: 3D position of texel (i, j), barycentric interpolation of G over the
  triangle that covers it in the UV atlas.
* ``T~_ij = I(Pi H X(G, i, j))``: the observed texture, bilinear sampling of the image
  (differentiable in the image, G and H) -- Eq. 7.
* ``W``: confidence, the cosine of the angle between the camera ray and the surface
  normal at the texel (sec. 3.2.1), with a threshold; beyond the paper, a z-buffer
  visibility test zeroes texels hidden behind nearer geometry (the nose must not
  "see" the cheek behind it).

All functions take batched tensors; the topology enters through :class:`TexelMap`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .camera import rotate_normals, transform
from .topology import Topology

Tensor = torch.Tensor


class TexelMap:
    """Torch view of ``topology.texel_map(T)`` restricted to covered texels.

    Attributes (N = number of covered texels):
        faces (F, 3) int64, tri (N, 3) int64 vertex ids, bary (N, 3), index (N,) flat texel
        index into T*T, mask (T, T) bool.
    """

    def __init__(self, topology: Topology, T: int, device: torch.device | str = "cpu") -> None:
        face, bary = topology.texel_map(T)
        valid = torch.from_numpy(face >= 0)
        self.T = T
        self.mask = valid.to(device)
        self.index = torch.nonzero(valid.flatten(), as_tuple=False)[:, 0].to(device)
        fid = torch.from_numpy(face).flatten()[self.index.cpu()]
        self.faces = torch.from_numpy(topology.faces).to(device)
        self.tri = self.faces[fid.to(device)]
        self.bary = torch.from_numpy(bary.reshape(-1, 3)).to(device)[self.index]
        self._M: dict = {}  # (dtype, device) -> sparse (N, V) barycentric matrix

    def to(self, device: torch.device | str) -> TexelMap:
        for k in ("mask", "index", "faces", "tri", "bary"):
            setattr(self, k, getattr(self, k).to(device))
        return self

    def interpolate(self, values: Tensor) -> Tensor:
        """Barycentric interpolation of per-vertex values at the covered texels, as one
        sparse (N, V) matrix product (3 non-zeros per row; 4x faster than gathering the
        triangle corners, forward + backward, measured at 256^2 texels).

        Shape:
            values: (B, V, C) -> (B, N, C)
        """
        B, V, C = values.shape
        key = (values.dtype, values.device)
        M = self._M.get(key)
        if M is None:
            rows = torch.arange(self.tri.shape[0], device=self.tri.device).repeat_interleave(3)
            idx = torch.stack([rows, self.tri.flatten()]).to(values.device)
            M = torch.sparse_coo_tensor(idx, self.bary.flatten().to(values), (self.tri.shape[0], V),
                                        check_invariants=True).coalesce()
            self._M[key] = M
        out = torch.sparse.mm(M, values.permute(1, 0, 2).reshape(V, B * C))  # (N, B*C)
        return out.reshape(-1, B, C).permute(1, 0, 2)

    def scatter(self, values: Tensor, fill: float = 0.0) -> Tensor:
        """Put per-covered-texel values into a full grid. (B, N, C) -> (B, C, T, T)."""
        B, N, C = values.shape
        out = values.new_full((B, self.T * self.T, C), fill)
        out = out.index_copy(1, self.index, values)
        return out.transpose(1, 2).reshape(B, C, self.T, self.T)


def vertex_normals(G: Tensor, faces: Tensor) -> Tensor:
    """Area-weighted unit vertex normals.

    With y down and z away from the camera, normals of the face point towards -z.

    Shape:
        G: (B, V, 3), faces: (F, 3) -> (B, V, 3)
    """
    a, b, c = G[:, faces[:, 0]], G[:, faces[:, 1]], G[:, faces[:, 2]]
    n_face = torch.cross(b - a, c - a, dim=-1)  # (B, F, 3)
    n = torch.zeros_like(G)
    for k in range(3):
        n = n.index_add(1, faces[:, k], n_face)
    return F.normalize(n, dim=-1, eps=1e-12)


def texel_positions(G: Tensor, tm: TexelMap) -> Tensor:
    """X(G, i, j) for the covered texels (Eq. 7).

    Shape:
        G: (B, V, 3) -> (B, N, 3)
    """
    return tm.interpolate(G)


def texel_normals(G: Tensor, tm: TexelMap) -> Tensor:
    """Interpolated unit normals at covered texels. (B, V, 3) -> (B, N, 3)."""
    n = vertex_normals(G, tm.faces)
    return F.normalize(tm.interpolate(n), dim=-1, eps=1e-12)


def pixels_to_grid(p: Tensor, height: int, width: int) -> Tensor:
    """Pixel coordinates (centre of pixel c at c) to grid_sample's [-1, 1] with
    ``align_corners=True``. (..., 2) -> (..., 2)."""
    scale = p.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    return p * scale - 1.0


def sample_image(image: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
    """Differentiable bilinear sampling of image at pixel positions p.

    Returns colours and an in-bounds mask.

    Shape:
        image: (B, C, H, W), p: (B, N, 2) -> (B, N, C), (B, N) bool
    """
    B, C, H, W = image.shape
    grid = pixels_to_grid(p, H, W)[:, :, None, :]  # (B, N, 1, 2)
    col = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    inside = (p[..., 0] >= 0) & (p[..., 0] <= W - 1) & (p[..., 1] >= 0) & (p[..., 1] <= H - 1)
    return col[..., 0].transpose(1, 2), inside


def observed_texture(image: Tensor, G: Tensor, H: Tensor, tm: TexelMap,
                     X: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """T~ = I(Pi H X(G, i, j)) (Eq. 7) and the in-image mask. ``X`` may pass precomputed
    :func:`texel_positions`.

    Shape:
        image: (B, 3, S, S) in [0, 1], G: (B, V, 3), H: (B, 6) -> T~ (B, 3, T, T), inside (B, T, T)
    """
    X = texel_positions(G, tm) if X is None else X  # (B, N, 3)
    p = transform(X, H)[..., :2]  # (B, N, 2)
    col, inside = sample_image(image, p)
    T_obs = tm.scatter(col)
    inside_full = tm.scatter(inside[..., None].to(col.dtype))[:, 0] > 0.5
    return T_obs, inside_full


def visibility(X_cam: Tensor, cell_px: float, tol_px: float) -> Tensor:
    """Point-splat z-buffer test (beyond the paper): a texel is visible when no texel
    projecting into the same image cell is nearer than ``tol_px``.

    ``X_cam`` are camera-frame points from :func:`models.camera.transform` (x, y in
    pixels, z = depth in pixel units, larger is further).

    Shape:
        X_cam: (B, N, 3) -> (B, N) bool
    """
    with torch.no_grad():
        B, N, _ = X_cam.shape
        cells = torch.floor(X_cam[..., :2] / cell_px).long()  # (B, N, 2)
        cells = cells - cells.amin(1, keepdim=True)
        w = int(cells[..., 0].max()) + 1
        h = int(cells[..., 1].max()) + 1
        key = cells[..., 1] * w + cells[..., 0] + torch.arange(B, device=X_cam.device)[:, None] * (w * h)
        z = X_cam[..., 2]
        zbuf = torch.full((B * w * h,), float("inf"), dtype=z.dtype, device=z.device)
        zbuf = zbuf.scatter_reduce(0, key.flatten(), z.flatten(), reduce="amin")
        return z <= zbuf[key] + tol_px


def confidence(
    G: Tensor,
    H: Tensor,
    tm: TexelMap,
    threshold: float = 0.0,
    occlusion: bool = True,
    image_size: int | None = None,
    X: Tensor | None = None,
) -> Tensor:
    """Confidence W: cosine of the incidence angle of the camera ray (Eq. 6), zero below
    ``threshold``, outside the image (when ``image_size`` is given), on uncovered texels
    and -- when ``occlusion`` -- on texels hidden by nearer geometry. ``X`` may pass
    precomputed :func:`texel_positions`.

    Shape:
        G: (B, V, 3), H: (B, 6) -> W (B, T, T) in [0, 1]
    """
    n_cam = rotate_normals(texel_normals(G, tm), H)  # (B, N, 3)
    W = (-n_cam[..., 2]).clamp(min=0.0)  # camera rays travel along +z
    X_cam = transform(texel_positions(G, tm) if X is None else X, H)
    keep = W >= threshold if threshold > 0 else W > 0
    if image_size is not None:
        p = X_cam[..., :2]
        keep = keep & (p >= 0).all(-1) & (p <= image_size - 1).all(-1)
    if occlusion:
        # texel spacing on the surface, in pixels: sqrt(area per texel) * f
        area = mesh_area(G, tm.faces)  # (B,)
        spacing = (area / max(tm.index.numel(), 1)).sqrt() * H[:, 0].abs()
        cell = max(1.0, 1.5 * float(spacing.max()))
        keep = keep & visibility(X_cam, cell_px=cell, tol_px=2.0 * cell)
    W = W * keep.to(W.dtype)
    return tm.scatter(W[..., None])[:, 0]


def mesh_area(G: Tensor, faces: Tensor) -> Tensor:
    """Total surface area of each mesh. G (B, V, 3), faces (F, 3) -> (B,)."""
    a, b, c = G[:, faces[:, 0]], G[:, faces[:, 1]], G[:, faces[:, 2]]
    return 0.5 * torch.cross(b - a, c - a, dim=-1).norm(dim=-1).sum(-1)

