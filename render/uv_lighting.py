"""Lighting description for the UV shading pass, the light-space matrix, a NumPy reference.

Directions live in the head frame (x right, y down, z away from the camera) and point from
the head towards the light, like :func:`models.camera.view_direction` points to the camera:
a frontal light is ``(0, 0, -1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.topology import Topology
from render.reference import as_numpy, texture_hwc, vertex_normals_np, weld_ids

MAX_LIGHTS = 4


def _vec3(x: object, what: str) -> tuple[float, float, float]:
    a = np.asarray(as_numpy(x), np.float64).reshape(-1)
    if a.shape != (3,) or not np.isfinite(a).all():
        raise ValueError(f"{what} must be 3 finite numbers, got {x!r}")
    return (float(a[0]), float(a[1]), float(a[2]))


@dataclass(frozen=True)
class Light:
    """A directional light. ``direction``: head -> light (any length > 0); ``color`` linear RGB
    in [0, 1]; ``shadow``: whether it casts shadows (when :attr:`Lighting.shadows` is on)."""

    direction: tuple[float, float, float]
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    shadow: bool = True

    def __post_init__(self) -> None:
        d = _vec3(self.direction, "Light.direction")
        if np.linalg.norm(d) < 1e-9:
            raise ValueError("Light.direction must not be zero")
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "color", _vec3(self.color, "Light.color"))
        object.__setattr__(self, "intensity", float(self.intensity))

    def unit_direction(self) -> np.ndarray:
        """Shape: -> (3,) float64."""
        d = np.asarray(self.direction, np.float64)
        return d / np.linalg.norm(d)

    def rgb(self) -> np.ndarray:
        """Colour times intensity. Shape: -> (3,) float64."""
        return np.asarray(self.color, np.float64) * self.intensity


@dataclass(frozen=True)
class Lighting:
    """Up to :data:`MAX_LIGHTS` directional lights + ambient colour + Blinn-Phong specular."""

    lights: tuple[Light, ...] = ()
    ambient: tuple[float, float, float] = (0.25, 0.25, 0.25)
    specular_strength: float = 0.25
    shininess: float = 32.0
    shadows: bool = True

    def __post_init__(self) -> None:
        lights = tuple(self.lights)
        if len(lights) > MAX_LIGHTS:
            raise ValueError(f"at most {MAX_LIGHTS} lights, got {len(lights)}")
        if not all(isinstance(li, Light) for li in lights):
            raise TypeError("Lighting.lights must be Light objects")
        if self.shininess <= 0:
            raise ValueError(f"shininess must be > 0, got {self.shininess}")
        object.__setattr__(self, "lights", lights)
        object.__setattr__(self, "ambient", _vec3(self.ambient, "Lighting.ambient"))


def light_matrix(G: np.ndarray, direction: np.ndarray, size: int) -> tuple[np.ndarray, float, float]:
    """Orthographic light-space matrix fitted around G for a light along ``direction``.

    Maps head-frame points to clip space: xy across the light beam, z = distance along the
    light's travel (towards -direction), nearer the light = smaller depth.
    Returns ``(mvp (4, 4) float64, texel size in model units, depth range in model units)``.

    Shape:
        G: (V, 3), direction: (3,) unit, head -> light
    """
    d = -np.asarray(direction, np.float64)  # direction of travel
    helper = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    right = np.cross(helper, d)
    right /= np.linalg.norm(right)
    up = np.cross(d, right)
    B = np.stack([right, up, d])  # (3, 3) rows: light-space axes
    q = np.asarray(G, np.float64) @ B.T
    lo, hi = q.min(0), q.max(0)
    centre = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo)
    half_xy = max(half[0], half[1]) * 1.05 + 1e-6
    half_z = half[2] * 1.05 + 1e-6
    scale = np.array([1.0 / half_xy, 1.0 / half_xy, 1.0 / half_z])
    M = np.eye(4)
    M[:3, :3] = scale[:, None] * B
    M[:3, 3] = -scale * centre
    return M, 2.0 * half_xy / size, 2.0 * half_z


def shade_texels_np(topology: Topology, G: object, albedo: object, view_dir: object,
                    lighting: Lighting) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference of the UV pass without shadows (texel centres, albedo at texel res).

    Shape:
        G: (V, 3), albedo: (T, T, 3) | (3, T, T), view_dir: (3,) -> (T, T, 3) float32, (T, T) bool
    """
    alb = texture_hwc(albedo)
    alb = alb.astype(np.float32) / 255.0 if alb.dtype == np.uint8 else alb
    T = alb.shape[0]
    G = as_numpy(G, np.float64)
    face, bary = topology.texel_map(T)
    mask = face >= 0
    f, b = face[mask], bary[mask].astype(np.float64)
    tri = topology.faces[f]  # (N, 3)
    vn = vertex_normals_np(G, topology.faces, weld_ids(topology.vertices)).astype(np.float64)
    n = (vn[tri] * b[..., None]).sum(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    v = as_numpy(view_dir, np.float64).reshape(3)
    v = v / np.linalg.norm(v)
    diffuse = np.tile(np.asarray(lighting.ambient), (len(n), 1))
    spec = np.zeros_like(diffuse)
    for li in lighting.lights:
        ldir, rgb = li.unit_direction(), li.rgb()
        ndl = n @ ldir
        on = (ndl > 0)[:, None]
        diffuse += np.where(on, rgb * ndl[:, None], 0.0)
        h = (ldir + v) / max(np.linalg.norm(ldir + v), 1e-12)
        lobe = np.maximum(n @ h, 0.0)[:, None] ** lighting.shininess
        spec += np.where(on, rgb * lighting.specular_strength * lobe, 0.0)
    out = np.zeros((T, T, 3), np.float32)
    out[mask] = np.clip(alb[mask] * diffuse + spec, 0.0, 1.0)
    return out, mask
