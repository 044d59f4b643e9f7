"""Defaults shared by the CLI, the settings and the calibration (no heavy imports)."""

# Adaptation steps of "Calibrate to this room". Measured on a studio clip (office room, lite):
# 100 / 120 / 150 steps give 2.29 / 2.28 / 2.20 px salient-point error (5.17 before); 120 keeps a
# 10 s calibration under 90 s on a 2-core CPU while tracking continues.
CALIB_STEPS = 120
