"""Unwrap a person's texture from a monocular clip (issue 17, item 3).

For every fitted frame t the posed mesh's texels are sampled from the image, Eq. 7:
``T~_t(i, j) = I_t(Pi H_t X(G_t, i, j))``, with confidence ``W_t`` (Eq. 6: cosine of the
incidence angle, z-buffer visibility, inside the image; :mod:`models.texels`). Then:

1. exposure / white balance: each frame's per-channel gain is the least-squares ratio to the
   most frontal frame on the texels both see well;
2. robust blend: a W^2-weighted mean, re-weighted three times with a Cauchy weight on each
   frame's residual (glints, blinks and misfits do not smear into the texture);
3. fill: texels no frame saw take the mirror texel (the atlas is left-right symmetric:
   column j <-> T-1-j), and what is still empty the studio's procedural albedo painted in the
   person's measured skin and hair colours (:func:`studio.texture.paint_albedo`);
4. the mouth cavity (teeth, tongue) always comes from that procedural albedo (a clip shows it
   shut most of the time), its rim and the inner lip edge in the person's lip colour. The eyes
   come from the clip where it sees them well (the robust blend keeps the open eyes over blinks):
   with the template's painted eyes, the eyes were about 40 % of the face's error on the
   held-back frames of a real clip (docs/enrollment.md); ``observed_eyes=False`` paints them.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import torch

from models.texels import TexelMap, confidence, observed_texture
from models.topology import Topology
from studio.mesh import EYE, LIP, LIP_EDGE, MOUTH
from studio.texture import SkinParams, paint_albedo

W_MIN = 0.25  # confidence below this (grazing texels) is not used
ERODE = 2  # texels: a seen region's rim samples the background through the bilinear footprint


def erode_support(W: torch.Tensor, r: int) -> torch.Tensor:
    """1 where every texel within r (square) is seen. (N, T, T) -> (N, T, T) float"""
    unseen = (W <= 0).float()[:, None]
    grown = torch.nn.functional.max_pool2d(unseen, 2 * r + 1, stride=1, padding=r)[:, 0]
    return 1.0 - grown


def observe(frames_rgb: np.ndarray, G: np.ndarray, H: np.ndarray, tm: TexelMap, chunk: int = 8,
            grad: bool = False, inner: np.ndarray | None = None, cancel=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Observed textures and confidences of N frames. ``inner`` (T, T) bool: texels that never
    erode their neighbours (the mouth cavity: it faces away, but it is inside the lips, not a rim).

    frames_rgb (N, h, w, 3) uint8 RGB, G (N, V, 3), H (N, 6) frame pixels ->
    T~ (N, 3, T, T) in [0, 1], W (N, T, T) in [0, 1] (0 where unseen)."""
    out_T, out_W = [], []
    for a in range(0, len(frames_rgb), chunk):
        if cancel and cancel():
            raise KeyboardInterrupt("cancelled")
        img = torch.from_numpy(np.ascontiguousarray(frames_rgb[a:a + chunk])).permute(0, 3, 1, 2).float() / 255.0
        Gc = G[a:a + chunk] if torch.is_tensor(G) else torch.from_numpy(np.asarray(G[a:a + chunk], np.float32))
        Hc = H[a:a + chunk] if torch.is_tensor(H) else torch.from_numpy(np.asarray(H[a:a + chunk], np.float32))
        with torch.set_grad_enabled(grad):
            T_obs, inside = observed_texture(img, Gc, Hc, tm)
        with torch.no_grad():
            W = confidence(Gc.detach(), Hc.detach(), tm, threshold=W_MIN, occlusion=True)
            W = W * inside.to(W.dtype)
            # erode from the silhouette only (turned away / out of the picture), not from texels
            # hidden behind the lips or the nose, nor from the atlas' empty space
            facing = confidence(Gc.detach(), Hc.detach(), tm, threshold=W_MIN, occlusion=False)
            support = ((facing * inside.to(W.dtype)) > 0) | ~tm.mask[None]
            if inner is not None:
                support = support | torch.from_numpy(inner)[None]
            W = W * erode_support(support.to(W.dtype), ERODE)
        out_T.append(T_obs)
        out_W.append(W)
    return torch.cat(out_T), torch.cat(out_W)


def exposure_gains(T_obs: torch.Tensor, W: torch.Tensor, ref: int) -> torch.Tensor:
    """Per-frame per-channel gain g (N, 3) so that g * T~_t matches frame ``ref``'s colours."""
    both = ((W > 0.5) & (W[ref] > 0.5)[None]).float()[:, None]  # (N, 1, T, T)
    num = (both * T_obs * T_obs[ref][None]).sum((2, 3))
    den = (both * T_obs**2).sum((2, 3)).clamp(min=1e-6)
    g = num / den
    few = both.sum((1, 2, 3)) < 50
    g[few] = 1.0
    return g.clamp(0.5, 2.0)


def robust_blend(T_obs: torch.Tensor, W: torch.Tensor, iters: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Robust weighted mean over frames. (N, 3, T, T), (N, T, T) -> texture (3, T, T), weight sum (T, T)."""
    w = W**2
    for _ in range(iters + 1):
        mean = (w[:, None] * T_obs).sum(0) / w.sum(0).clamp(min=1e-6)[None]
        r = (T_obs - mean[None]).abs().mean(1)  # (N, T, T)
        seen = W > 0
        scale = 1.4826 * r[seen].median().clamp(min=1e-3) if seen.any() else torch.tensor(1.0)
        w = W**2 / (1.0 + (r / (2.5 * scale)) ** 2)
    return mean, W.sum(0)


def texel_regions(topo: Topology, T: int) -> np.ndarray:
    """The studio region (0 skin, 1 lip, 2 eye, 3 mouth cavity, 4 inner-lip edge) of each texel's
    triangle (majority of its corners), -1 where the atlas is empty. -> (T, T) int8"""
    face, _ = topo.texel_map(T)
    reg = topo.extras["region"][topo.faces[np.where(face < 0, 0, face)]]  # (T, T, 3)
    maj = np.where(reg[..., 0] == reg[..., 1], reg[..., 0], reg[..., 2])
    return np.where(face < 0, -1, maj).astype(np.int8)


def measured_skin(texture: np.ndarray, coverage: np.ndarray, regions: np.ndarray, scalp: np.ndarray,
                  base: SkinParams) -> SkinParams:
    """The procedural albedo's colours taken from the unwrapped texture: median skin colour of
    well-seen skin texels, hair from the seen scalp (else the base's)."""
    skin_px = texture[(coverage > 1.0) & (regions == 0) & ~scalp]
    skin = tuple(float(c) for c in np.median(skin_px, 0)) if len(skin_px) > 200 else base.skin
    hair_px = texture[(coverage > 1.0) & scalp]
    hair = tuple(float(c) for c in np.median(hair_px, 0)) if len(hair_px) > 200 else base.hair
    return replace(base, skin=skin, hair=hair, blotch=0.02, pores=0.015, blush=0.0)


def paint_lip_edge(albedo: np.ndarray, observed: np.ndarray, coverage: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """The inner lip edge and the cavity's rim in the person's lip colour (slightly darker): those
    texels are a few texels thin in the atlas, a clip sees them only as the dark line between
    closed lips, and bilinear sampling bleeds them into the lips of a closed mouth."""
    lips = observed[(regions == LIP) & (coverage > 1.0)]
    if len(lips) < 20:
        return albedo
    colour = 0.8 * np.median(lips, 0)
    edge = regions == LIP_EDGE
    grown = cv2.dilate(edge.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rim = grown & (regions == MOUTH)
    out = albedo.copy()
    out[edge | rim] = colour
    return out


def dilate_into_empty(img: np.ndarray, valid: np.ndarray, rings: int = 4) -> np.ndarray:
    """Grow the atlas charts' colours a few texels into the empty atlas, so bilinear sampling at a
    chart's rim (nostrils, lips, ears) never reads the colour of an unrelated texel."""
    out = img.astype(np.float32).copy()
    v = valid.astype(np.float32)
    for _ in range(rings):
        num = cv2.blur(out * v[..., None], (3, 3))
        den = cv2.blur(v, (3, 3))
        grow = (v == 0) & (den > 0)
        out[grow] = num[grow] / den[grow, None]
        v = np.maximum(v, grow.astype(np.float32))
    return out


def scalp_mask(topo: Topology, T: int) -> np.ndarray:
    from studio.texture import _hairline, texel_positions

    P, _, _ = texel_positions(topo, T)
    return _hairline(P[..., 0], P[..., 1], P[..., 2]) > 0.04


def unwrap(frames_rgb: np.ndarray, G: np.ndarray, H: np.ndarray, topo: Topology, T: int = 256,
           base_skin: SkinParams | None = None, salient_uv: np.ndarray | None = None,
           observed_eyes: bool = True, cancel=None) -> dict:
    """The person's albedo in the atlas.

    frames_rgb (N, h, w, 3) uint8 RGB; G (N, V, 3); H (N, 6) -> dict with ``albedo`` (T, T, 3)
    float32 RGB in [0, 1], ``coverage`` (T, T) sum of W, ``observed`` (T, T) bool (blend used),
    ``gains`` (N, 3), ``skin`` (the SkinParams of the fill)."""
    tm = TexelMap(topo, T)
    regions = texel_regions(topo, T)
    T_obs, W = observe(frames_rgb, G, H, tm, inner=np.isin(regions, (MOUTH, LIP_EDGE)), cancel=cancel)
    ref = int(W.sum((1, 2)).argmax())  # the frame that sees the most: the most frontal
    gains = exposure_gains(T_obs, W, ref)
    T_obs = (T_obs * gains[:, :, None, None]).clamp(0, 1)
    tex, cov = robust_blend(T_obs, W)
    tex = tex.permute(1, 2, 0).numpy()
    cov = cov.numpy()
    # mirror fill
    tex_m, cov_m = tex[:, ::-1], cov[:, ::-1]
    a = cov / (cov + 0.3)
    am = cov_m / (cov_m + 0.3)
    merged = a[..., None] * tex + (1 - a[..., None]) * am[..., None] * tex_m
    weight = a + (1 - a) * am
    merged = merged / np.maximum(weight, 1e-6)[..., None]
    scalp = scalp_mask(topo, T)
    base = base_skin or SkinParams((0.8, 0.62, 0.5), (0.12, 0.08, 0.05), (0.3, 0.2, 0.1), 0.6, 0.03, 0.02, 0.0, 1.0, 0)
    skin = measured_skin(merged, cov + cov_m, regions, scalp, base)
    salient = np.zeros((0, 2), np.float32) if salient_uv is None else salient_uv
    proc = paint_albedo(topo, skin, salient, T)
    # blend weight: smooth, zero on the eyes and the mouth cavity
    # (blurred before the eyes and the cavity are cut out: thin lips next to the cavity stay seen)
    keep = cv2.GaussianBlur(np.clip(weight / 0.6, 0, 1).astype(np.float32), (0, 0), T / 256 * 1.0)
    cut = (MOUTH,) if observed_eyes else (EYE, MOUTH)
    keep = np.minimum(keep, np.clip(weight / 0.6, 0, 1) + 0.5) * ~np.isin(regions, cut)
    albedo = keep[..., None] * merged + (1 - keep[..., None]) * proc
    albedo = paint_lip_edge(albedo, merged, cov + cov_m, regions)
    albedo = dilate_into_empty(albedo, regions >= 0)
    return {"albedo": np.clip(albedo, 0, 1).astype(np.float32), "coverage": (cov + cov_m).astype(np.float32),
            "observed": keep > 0.5, "gains": gains.numpy(), "skin": skin, "ref_frame": ref}


__all__ = ["observe", "exposure_gains", "robust_blend", "texel_regions", "unwrap", "W_MIN"]
