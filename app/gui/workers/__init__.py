"""Qt workers, each on its own QThread: capture, tracking, calibration (model jobs)."""
from .. import qt_compat  # noqa: F401  (PySide6 6.12 refcount guard, before any Qt use)
