"""Defaults shared by the CLI, the settings and the calibration (no heavy imports)."""

# Adaptation steps of "Calibrate to this room". Measured on a studio clip (office room, lite,
# with the temporal term at weight 100, session 3): 100 / 120 steps give 2.37 / 2.34 px
# salient-point error and 1.205 / 1.211 temporal stability (5.17 px and 1.442 before). With 100,
# a 10 s calibration took 60-70 s in the window on a 2-core CPU while tracking, the synthetic
# actor and the avatar view all ran; 72-77 s with the session-5 adaptation (docs/app.md).
CALIB_STEPS = 100

# Decode the view-dependent texture on every N-th tracked frame (geometry, pose and landmarks on
# every frame; the avatar's texture is then at most one frame old). Measured on the 2-core CPU
# while a calibration runs: 1 -> 28.8 FPS, p95 66.0 ms, 104 dropped; 2 -> 29.6 FPS, p95 57.9 ms,
# 39 dropped (docs/app.md).
TEXTURE_EVERY = 2

# While a calibration adapts, track at most this many frames per second: the adaptation runs at
# idle priority and a tracker fed by a faster camera would otherwise take every core. Measured on
# 2 cores with a 60 FPS synthetic source: uncapped, the calibration took 263 s (docs/app.md).
CALIB_TRACK_FPS = 30.0

# While a calibration adapts, the window asks for a new avatar image on every 2nd tracked frame
# and decodes the texture on every 4th (the pose, geometry, landmarks and camera view stay per
# frame): on 2 cores the avatar's renderer and the texture decoder took CPU that the
# idle-priority adaptation needed, and a 10 s calibration took 90-101 s in the window (docs/app.md).
CALIB_AVATAR_EVERY = 2
CALIB_TEXTURE_EVERY = 4

# Two-stage tracking loop (app.pipeline.loops.TrackingLoop): a frame's detector on a second thread
# while the frame before it finishes. It only overlaps when the camera is faster than the tracker.
# Off by default: on 2 cores the texture worker already takes the second core, and with it the app's
# loop measured 54.5 FPS without and 53.2 with two stages (drawing in the render process); with the
# drawing in the tracking thread (--render-in-thread) it gave 30.3 -> 33.6 (docs/speed.md).
TWO_STAGE = False
