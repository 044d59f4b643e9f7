"""The window (PySide6): everything that imports Qt lives here.

``main`` (start the window), ``window`` (builds the views and wires them), ``controller`` (acts on
user intents and session events), ``outputs_controller`` (the Outputs panel), ``session`` (the
tracking pipeline on QThreads: ``workers/``), ``settings`` (QSettings), ``views/`` (widgets that show
packets and emit intents; no model code), ``qt_compat`` (PySide6 6.12 refcount guard, imported
first). Built on :mod:`app.pipeline`, :mod:`app.sources` and :mod:`app.outputs`, which never
import Qt.
"""
from . import qt_compat  # noqa: F401  (PySide6 6.12 refcount guard, before any Qt use)
