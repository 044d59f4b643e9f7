"""Context factory and program loader: versions, caching, errors a user can act on."""

from __future__ import annotations

import threading

import pytest

from render import programs
from render.context import MIN_GL_VERSION, attach_context, create_context, is_owned
from render.errors import RenderError
from render.programs import check_gl_error, load_program, shader_names

pytestmark = pytest.mark.gl

VARIANTS = [("face", {}), ("face", {"RGB_ONLY": 1}), ("background", {}), ("background", {"RGB_ONLY": 1})]


def test_context_is_headless_gl33_or_newer(ctx):
    assert ctx.version_code >= MIN_GL_VERSION
    assert is_owned(ctx)
    assert ctx.error == "GL_NO_ERROR"


def test_missing_egl_library_gives_install_hint():
    with pytest.raises(RenderError, match="libegl1"):
        create_context(libegl="libEGL_definitely_missing.so.1")


def test_unknown_backend_is_named():
    with pytest.raises(RenderError, match="unknown OpenGL backend"):
        create_context(backend="nope")


def test_attach_without_current_context_says_where_to_call():
    errors: list[BaseException] = []

    def run() -> None:  # a fresh thread has no current GL context
        try:
            attach_context()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert errors and isinstance(errors[0], RenderError)
    assert "paintGL" in str(errors[0])


@pytest.mark.parametrize("name", shader_names())
def test_every_program_compiles_without_gl_error(ctx, name):
    prog = load_program(ctx, name)
    assert prog is load_program(ctx, name)  # cached per context
    check_gl_error(ctx, name)


@pytest.mark.parametrize("name,defines", VARIANTS)
def test_variants_compile_and_cache_separately(ctx, name, defines):
    prog = load_program(ctx, name, defines)
    assert prog is load_program(ctx, name, dict(defines))
    if defines:
        assert prog is not load_program(ctx, name)
    check_gl_error(ctx, f"{name} {defines}")


def test_all_shader_pairs_present():
    assert {"face", "background", "overlay", "uv_shading", "shadow_depth"} <= set(shader_names())
    assert (programs.SHADER_DIR / "overlay.geom").exists()


def test_compile_error_carries_glsl_log(ctx, tmp_path, monkeypatch):
    (tmp_path / "broken.vert").write_text("#version 330 core\nvoid main() { gl_Position = vec4(1.0); }\n")
    (tmp_path / "broken.frag").write_text("#version 330 core\nout vec4 c;\nvoid main() { c = undefined_thing; }\n")
    monkeypatch.setattr(programs, "SHADER_DIR", tmp_path)
    with pytest.raises(RenderError, match="undefined_thing") as e:
        load_program(ctx, "broken")
    assert "'broken'" in str(e.value)


def test_missing_shader_file(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(programs, "SHADER_DIR", tmp_path)
    with pytest.raises(RenderError, match="missing"):
        load_program(ctx, "nothing_here")


def test_check_gl_error_raises_on_error(ctx):
    ctx.enable_direct(0xFFFF)  # not a capability: GL_INVALID_ENUM
    with pytest.raises(RenderError, match="GL_INVALID_ENUM.*here"):
        check_gl_error(ctx, "here")
    check_gl_error(ctx, "after reading the error")  # the error flag is cleared by reading it
