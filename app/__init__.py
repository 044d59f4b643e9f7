"""The desktop app (PySide6) and headless mode of the live avatar tracker.

Qt-free core: ``sources``/``synthetic``/``process_source`` (frame sources), ``mailbox``,
``loops`` (capture and tracking loops), ``pipeline`` (track + draw one frame), ``recorder`` and
``calibration`` (Calibrate to this room), ``profiles`` (room profiles), ``headless``.
Qt: ``session`` (threads), ``workers/``, ``views/``, ``controller``, ``main_window``, ``gui``.
See docs/app.md.
"""
