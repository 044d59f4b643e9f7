"""The one OpenGL context factory of the project.

* :func:`create_context` - a headless context (EGL, llvmpipe on a CPU-only machine) owned
  by the caller; the renderers make it current before every call, so several owned
  contexts can live in one thread.
* :func:`attach_context` - wrap the GL context that is *already current* (e.g. the one a
  Qt ``QOpenGLWidget`` makes current in ``paintGL``); the renderers never switch it.

An owned EGL context can be current in one thread at a time: use a renderer from the
thread that uses its context (e.g. the tracking worker).
"""

from __future__ import annotations

import moderngl

from render.errors import RenderError

MIN_GL_VERSION = 330  # GLSL 330 core: gl_PrimitiveID in fragment shaders, MRT, integer targets
_OWNED = "render.owned"

_INSTALL_HINT = (
    "Install the system OpenGL/EGL libraries, e.g. on Debian/Ubuntu "
    "`apt-get install -y libegl1 libgl1 libgl1-mesa-dri` (Mesa llvmpipe renders on the CPU "
    "when there is no GPU); on a machine with an NVIDIA GPU the driver's libEGL works too."
)


def _state(ctx: moderngl.Context) -> dict:
    """Per-context dict the render package keeps its caches in (``ctx.extra``)."""
    if ctx.extra is None:
        ctx.extra = {}
    if not isinstance(ctx.extra, dict):
        raise RenderError("ctx.extra is used by render/ and must be None or a dict")
    return ctx.extra


def _check_version(ctx: moderngl.Context, how: str) -> moderngl.Context:
    if ctx.version_code < MIN_GL_VERSION:
        renderer = ctx.info.get("GL_RENDERER", "?")
        raise RenderError(
            f"{how} gave OpenGL {ctx.version_code / 100:.1f} ({renderer}); the renderer needs "
            f"OpenGL {MIN_GL_VERSION / 100:.1f} core or newer. {_INSTALL_HINT}"
        )
    return ctx


def create_context(backend: str = "egl", **settings: object) -> moderngl.Context:
    """A new headless OpenGL context (default: EGL, no X server needed).

    ``settings`` go to glcontext (e.g. ``libegl="libEGL.so.1"``, ``device_index=0``).
    Raises :class:`RenderError` with install instructions when EGL/GL is missing.
    """
    try:
        ctx = moderngl.create_context(standalone=True, backend=backend, **settings)
    except Exception as e:  # moderngl raises plain Exception for missing libraries
        if "supported backend" in str(e):
            raise RenderError(f"unknown OpenGL backend {backend!r} ({e}); use 'egl' (headless)") from e
        raise RenderError(
            f"Could not create a headless OpenGL context (backend={backend!r}): {e}. {_INSTALL_HINT}"
        ) from e
    _state(ctx)[_OWNED] = True
    return _check_version(ctx, f"create_context(backend={backend!r})")


def attach_context(**settings: object) -> moderngl.Context:
    """Wrap the OpenGL context that is current in this thread (e.g. Qt's, inside paintGL).

    ``settings`` go to ``moderngl.create_context`` (e.g. ``backend=...`` on unusual setups).
    """
    try:
        ctx = moderngl.create_context(**settings)
    except Exception as e:
        raise RenderError(
            f"No current OpenGL context to attach to ({e}); call this where the GUI toolkit has "
            "made its context current (e.g. QOpenGLWidget.initializeGL/paintGL)"
        ) from e
    _state(ctx)[_OWNED] = False
    return _check_version(ctx, "attach_context()")


def is_owned(ctx: moderngl.Context) -> bool:
    """True for contexts made by :func:`create_context` (the renderers make those current)."""
    return bool(_state(ctx).get(_OWNED, False))


def activate(ctx: moderngl.Context) -> None:
    """Make an owned context current in this thread (no-op for attached contexts).

    glcontext's ``__exit__`` releases the context instead of restoring the previous one, so
    the renderers only ever *enter* their own context and never exit it.
    """
    if is_owned(ctx):
        try:
            ctx.__enter__()
        except Exception as e:
            raise RenderError(
                f"could not make the OpenGL context current in this thread ({e}); an EGL context "
                "can be current in one thread at a time - use the renderer from one thread"
            ) from e
