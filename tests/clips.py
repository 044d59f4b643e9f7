"""Small video files for tests, written from the synthetic actor (no real media needed)."""

from __future__ import annotations

import cv2

from app.sources.synthetic import SyntheticSource


def write_video(path, n=12, size=(320, 240)):
    """``n`` frames of the synthetic actor in the office room as an mp4 (30 FPS) at ``path``. -> path"""
    src = SyntheticSource("office", width=size[0], height=size[1])
    src.open()
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for _ in range(n):
        vw.write(src.read().image)
    vw.release()
    src.close()
    return path
