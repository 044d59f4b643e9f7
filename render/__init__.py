"""ModernGL rendering (no Qt): context factory, program loader, face / overlay / UV passes.

Public API::

    create_context(backend="egl") / attach_context()        render.context
    load_program(ctx, name, defines) / check_gl_error(ctx, where)   render.programs
    FaceRenderer(topology, ctx).render(G, H, texture, (w, h), background) -> RenderResult
    OverlayRenderer(topology, ctx).render(image, G, H, landmarks_2d=..., box=...)
    UVShader(topology, ctx).shade(G, albedo, view_dir, Lighting(...)) -> (T, T, 3)
"""

from render.context import attach_context, create_context
from render.errors import RenderError
from render.face_renderer import FaceRenderer, RenderResult
from render.overlay import OverlayRenderer, OverlayStyle
from render.programs import check_gl_error, load_program
from render.uv_lighting import Light, Lighting
from render.uv_shading import UVShader

__all__ = [
    "FaceRenderer", "Light", "Lighting", "OverlayRenderer", "OverlayStyle", "RenderError",
    "RenderResult", "UVShader", "attach_context", "check_gl_error", "create_context", "load_program",
]
