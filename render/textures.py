"""Reusable GL textures and render targets (one per role, re-created when the size changes)."""

from __future__ import annotations

import moderngl
import numpy as np


def upload_image(
    ctx: moderngl.Context, cache: dict, role: str, image: np.ndarray, linear: bool = True
) -> moderngl.Texture:
    """Write an (h, w, c) uint8 or float32 image into the cached texture for ``role``.

    Row 0 of ``image`` becomes GL texture row t = 0 (texel row i centre at t = (i + .5) / h).

    Shape:
        image: (h, w, c), c in 1..4
    """
    h, w, c = image.shape
    dtype = "f1" if image.dtype == np.uint8 else "f4"  # f1: normalised uint8
    image = np.ascontiguousarray(image, np.uint8 if dtype == "f1" else np.float32)
    sig = (w, h, c, dtype, linear)
    old = cache.get(role)
    if old is not None and old[0] == sig:
        tex = old[1]
    else:
        if old is not None:
            release_objects(ctx, old[1])
        tex = ctx.texture((w, h), c, dtype=dtype, alignment=1)
        f = moderngl.LINEAR if linear else moderngl.NEAREST
        tex.filter = (f, f)
        tex.repeat_x = tex.repeat_y = False
        cache[role] = (sig, tex)
    tex.write(image)
    return tex


def release_objects(ctx: moderngl.Context, objs: object) -> None:
    """Release GL objects; framebuffers after binding framebuffer 0.

    moderngl remembers the bound framebuffer and re-binds it after creating the next one:
    releasing it while bound would make that re-bind a GL_INVALID_OPERATION.
    """
    objs = objs if isinstance(objs, tuple) else (objs,)
    if any(isinstance(o, moderngl.Framebuffer) for o in objs):
        ctx.detect_framebuffer(0).use()
    for o in objs:
        o.release()


def release_all(ctx: moderngl.Context, cache: dict) -> None:
    """Release a cache of ``role -> (signature, GL object or tuple of GL objects)``."""
    for _sig, obj in cache.values():
        release_objects(ctx, obj)
    cache.clear()
