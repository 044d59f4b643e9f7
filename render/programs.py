"""The one GLSL program loader: ``shaders/<name>.vert`` + ``.frag`` (+ optional ``.geom``).

Programs are compiled once per context and cached in the context (``ctx.extra``).
``defines`` are inserted as ``#define NAME VALUE`` lines right after ``#version`` so one
source pair can serve several variants (e.g. ``RGB_ONLY``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import moderngl

import render
from render.context import _state
from render.errors import RenderError

SHADER_DIR = Path(render.__file__).resolve().parents[1] / "shaders"
_CACHE = "render.programs"


def shader_names() -> list[str]:
    """Names of all programs in :data:`SHADER_DIR` (those with a ``.vert`` and a ``.frag``)."""
    return sorted(p.stem for p in SHADER_DIR.glob("*.vert") if p.with_suffix(".frag").exists())


def _with_defines(src: str, defines: Mapping[str, object]) -> str:
    if not defines:
        return src
    lines = src.splitlines()
    at = next((i + 1 for i, ln in enumerate(lines) if ln.strip().startswith("#version")), 0)
    extra = [f"#define {k} {v}" for k, v in sorted(defines.items())]
    # keep the original line numbers in compile logs
    return "\n".join(lines[:at] + extra + [f"#line {at + 1}"] + lines[at:]) + "\n"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise RenderError(f"shader source {path} is missing or unreadable ({e})") from e


def load_program(
    ctx: moderngl.Context, name: str, defines: Mapping[str, object] | None = None
) -> moderngl.Program:
    """Compile (once per context, name and defines) and return the program ``name``.

    Raises :class:`RenderError` with the GLSL compile/link log on failure.
    """
    defines = dict(defines or {})
    key = (name, tuple(sorted((k, str(v)) for k, v in defines.items())))
    cache = _state(ctx).setdefault(_CACHE, {})
    if key in cache:
        return cache[key]
    stages = {"vertex_shader": SHADER_DIR / f"{name}.vert", "fragment_shader": SHADER_DIR / f"{name}.frag"}
    geom = SHADER_DIR / f"{name}.geom"
    if geom.exists():
        stages["geometry_shader"] = geom
    sources = {k: _with_defines(_read(p), defines) for k, p in stages.items()}
    try:
        prog = ctx.program(**sources)
    except Exception as e:  # moderngl.Error carries the driver's compile/link log
        raise RenderError(
            f"GLSL program {name!r} (defines={defines}) failed to compile/link "
            f"from {SHADER_DIR}:\n{e}"
        ) from e
    check_gl_error(ctx, f"load_program({name!r})")
    cache[key] = prog
    return prog


def check_gl_error(ctx: moderngl.Context, where: str) -> None:
    """Raise :class:`RenderError` if ``ctx.error`` is not ``GL_NO_ERROR`` (call after draws)."""
    err = ctx.error
    if err != "GL_NO_ERROR":
        raise RenderError(f"OpenGL error {err} after {where}")


def set_uniform(prog: moderngl.Program, name: str, value: object) -> None:
    """Set a uniform if the compiled program still has it (the GLSL compiler drops unused ones)."""
    if name in prog:
        prog[name].value = value


def write_uniform(prog: moderngl.Program, name: str, data: bytes) -> None:
    """Write raw bytes (e.g. a column-major matrix or an array) into a uniform, if present."""
    if name in prog:
        prog[name].write(data)
