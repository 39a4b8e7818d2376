"""What the benchmark scripts share (they run as ``python benches/NAME.py``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The project root; on ``sys.path`` so benches can share the tests' data generators.
ROOT = Path(__file__).resolve().parents[1]
#: ``../shared`` relative to the project root.
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls (seconds) and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out
