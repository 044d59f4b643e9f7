"""Defaults shared by the CLI, the settings and the calibration (no heavy imports)."""

# Adaptation steps of "Calibrate to this room". Measured on a studio clip (office room, lite):
# 100 / 120 / 150 steps give 2.29 / 2.28 / 2.20 px salient-point error (5.17 before); 120 keeps a
# 10 s calibration under 90 s on a 2-core CPU while tracking continues.
CALIB_STEPS = 120

# Decode the view-dependent texture on every N-th tracked frame (geometry, pose and landmarks on
# every frame; the avatar's texture is then at most one frame old). Measured on the 2-core CPU
# while a calibration runs: 1 -> 28.8 FPS, p95 66.0 ms, 104 dropped; 2 -> 29.6 FPS, p95 57.9 ms,
# 39 dropped (docs/app.md).
TEXTURE_EVERY = 2
