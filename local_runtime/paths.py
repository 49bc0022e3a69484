"""Where everything local lives: one git-ignored folder, ``var/`` at the repository root."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("MYBROKER_VAR", ROOT / "var"))
BIN = VAR / "bin"
LOGS = VAR / "logs"
RUN = VAR / "run"
BUILD = VAR / "build"
STATE_FILE = VAR / "local-state.json"
PYTHON = Path(sys.executable)
COMMON_LAYER = ROOT / "layers" / "common" / "python"


def ensure_dirs() -> None:
    for d in (VAR, BIN, LOGS, RUN, BUILD):
        d.mkdir(parents=True, exist_ok=True)
