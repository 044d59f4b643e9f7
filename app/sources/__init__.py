"""Frame sources behind one protocol (:class:`FrameSource`): webcam, video file, synthetic actor,
in-memory frames; :func:`make_source` builds the one a :class:`SourceSpec` names.

``base`` (protocol, :class:`Grab`, typed failures, :class:`SourceSpec`, :class:`ArraySource`),
``webcam``, ``video``, ``synthetic`` (the rendered actor, person and performance from ``actor``),
``process`` (any source in a helper process). Qt-free; depends on nothing else in the app
but :mod:`app.ipc`. The names below are the package's interface.
"""

from __future__ import annotations

from .base import (
    SOURCE_KINDS,
    ArraySource,
    FrameSource,
    Grab,
    SourceEnded,
    SourceError,
    SourceLost,
    SourceSpec,
    SourceUnavailable,
)
from .video import VideoSource
from .webcam import WebcamSource, list_cameras

__all__ = ["SOURCE_KINDS", "ArraySource", "FrameSource", "Grab", "SourceEnded", "SourceError", "SourceLost",
           "SourceSpec", "SourceUnavailable", "VideoSource", "WebcamSource", "list_cameras", "make_source"]


def make_source(spec: SourceSpec, loop_video: bool = True, width: int = 640, height: int = 480,
                fps: float = 30.0, isolate: bool = True) -> FrameSource:
    """Build (not open) the source a spec names. ``isolate``: render the synthetic actor in a child
    process (:mod:`app.sources.process`) so that its OpenGL calls never hold this process's GIL."""
    if spec.kind == "webcam":
        return WebcamSource(spec.index, width, height, fps)
    if spec.kind == "video":
        return VideoSource(spec.path, loop=loop_video)
    from functools import partial

    from .synthetic import ALIASES, ROOM_NAMES, SyntheticSource

    if not isolate or ALIASES.get(spec.room, spec.room) not in ROOM_NAMES:  # unknown rooms fail fast in open()
        return SyntheticSource(spec.room, width=width, height=height, fps=fps)
    from .process import ProcessSource

    factory = partial(SyntheticSource, spec.room, width=width, height=height, fps=fps)
    return ProcessSource(factory, width, height, name=str(spec))
