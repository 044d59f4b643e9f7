"""Qt workers, each on its own QThread: capture, tracking, calibration (model jobs)."""
