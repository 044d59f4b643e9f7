"""Errors raised by the render package."""

from __future__ import annotations


class RenderError(RuntimeError):
    """An OpenGL context, shader or draw call failed; the message says what to do about it."""
