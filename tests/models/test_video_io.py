"""models.data: the frame rate a video file declares, sanitised."""

import cv2
import numpy as np

from models.data import clean_fps, read_video, video_fps


def test_video_fps_reads_the_container_and_falls_back_on_nonsense(tmp_path):
    path = tmp_path / "clip.mp4"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    for i in range(5):
        vw.write(np.full((48, 64, 3), 40 * i, np.uint8))
    vw.release()
    assert video_fps(path) == 25.0
    assert read_video(path).shape == (5, 48, 64, 3)
    assert clean_fps(0.0) == 30.0 and clean_fps(None) == 30.0 and clean_fps(90000.0) == 30.0
    assert clean_fps(59.94) == 59.94
    assert video_fps(tmp_path / "missing.mp4") == 30.0
