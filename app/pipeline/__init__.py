"""The tracking pipeline, free of Qt: shared by the window (:mod:`app.gui.session` runs it on
QThreads) and headless mode (:mod:`app.headless`).

Per frame: ``loops.CaptureLoop`` reads a source into the latest-frame-wins ``mailbox``;
``loops.TrackingLoop`` runs ``frame.Pipeline`` (tracker -> ``calibration_recorder`` -> ``drawing``,
or ``render_process`` in a helper process) and emits ``packets``; ``stats`` keeps the figures.
Set-up: ``setup`` (source, ``bundles``, device, ``detectors``), ``defaults``. Calibrate to this
room: ``calibration`` (+ ``adapt_process``, the adaptation in a helper process), room
``profiles``. Headless extras: ``tracks`` (``--tracks``), ``progress`` (``--progress``).
"""
