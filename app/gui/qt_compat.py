"""Guard against PySide6 6.12.0's reference-count bug on Python < 3.12.

PySide6 6.12.0 returns ``None`` from every void Qt method, and ``True`` from
``SignalInstance.emit``, without taking a reference (harmless on Python >= 3.12, where
those objects are immortal). On Python 3.11 every such call decrements the refcount of
``None``/``True``; after a few thousand calls CPython aborts with "Fatal Python error:
none_dealloc" (measured here: ``QLabel.setText`` -1 on None per call, ``emit`` -1 on True;
PySide6 6.11.3 does not leak). The fix is a PySide6 other than 6.12.0 or Python >= 3.12.

Until then, importing this module probes for the leak once and, if present, does what
Python 3.12 does: it gives ``None``, ``True`` and ``False`` a refcount so large (2**40)
that no realistic number of leaked references can bring it to zero, and logs a warning.
Every module of the app that imports PySide6 imports this first.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)
IMMORTAL = 1 << 40
STATE = {"checked": False, "leaks": False}


class _Probe(QObject):
    sig = Signal()


def _leaks(n: int = 40) -> bool:
    o = _Probe()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(n):
        o.setObjectName("probe")
        o.sig.emit()
    return sys.getrefcount(None) <= none0 - n // 2 or sys.getrefcount(True) <= true0 - n // 2


def apply_guard() -> bool:
    """Probe once; immortalise None/True/False if this PySide6 leaks. Returns whether it leaked."""
    if STATE["checked"]:
        return STATE["leaks"]
    STATE["checked"] = True
    if sys.version_info >= (3, 12) or not _leaks():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += IMMORTAL
    STATE["leaks"] = True
    log.warning("PySide6 %s leaks references to None/True on Python %d.%d (a PySide6 bug): applied the "
                "refcount guard from app/gui/qt_compat.py; install another PySide6 (e.g. 6.11.3) or Python >= 3.12",
                PYSIDE_VERSION, *sys.version_info[:2])
    return True


apply_guard()
