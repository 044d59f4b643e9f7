"""The desktop app (PySide6) and headless mode of the live avatar tracker.

Layers, each importing only those below it (import-linter contracts in pyproject.toml):

* ``tools/`` - developer tools that drive the real window (``snapshot``, ``stall_probe``);
* ``cli`` - the command line of ``launcher.py``: the window, or ``--headless``;
* ``gui/`` - the window: everything Qt (views, controller, the session's QThreads) | ``headless`` -
  the same pipeline without Qt;
* ``outputs/`` - what other programs read from each tracked frame (VMC/OSC, takes, virtual camera);
* ``pipeline/`` - capture and tracking loops, mailbox, per-frame pipeline, calibration, profiles;
* ``sources/`` - webcam, video file, synthetic actor, helper-process source;
* ``ipc`` - messages between the app and its helper processes.

Only ``gui`` and ``tools`` import Qt. See docs/app.md and docs/architecture.md.
"""
