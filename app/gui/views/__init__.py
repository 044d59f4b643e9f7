"""Qt views: they show packets and emit user intents; they never run a model."""
from .. import qt_compat  # noqa: F401  (PySide6 6.12 refcount guard, before any Qt use)
