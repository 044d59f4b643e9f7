"""GL fixtures: one headless EGL context per session; tests skip (with the reason) without one."""

from __future__ import annotations

import pytest

from render.context import create_context
from render.errors import RenderError


@pytest.fixture(scope="session")
def gl_ctx():
    try:
        ctx = create_context()
    except RenderError as e:
        pytest.skip(f"no headless OpenGL (EGL) context on this machine: {e}")
    yield ctx


@pytest.fixture()
def ctx(gl_ctx):
    """The session context, made current again (other tests may create their own contexts)."""
    gl_ctx.__enter__()
    yield gl_ctx
    gl_ctx.__enter__()
    err = gl_ctx.error
    assert err == "GL_NO_ERROR", f"test left a GL error: {err}"
