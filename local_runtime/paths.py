"""Where everything local lives: one git-ignored folder, ``var/`` at the repository root.

The clone may sit anywhere (root's 0700 home, a ``mktemp -d`` folder, a path with spaces): what a service's own
system user must reach lives outside it (``SERVICE_HOME``), and unix sockets get a short path when ``var/run`` is
too deep for the kernel's limit.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("MYBROKER_VAR", ROOT / "var")).absolute()
BIN = VAR / "bin"
LOGS = VAR / "logs"
RUN = VAR / "run"
BUILD = VAR / "build"
STATE_FILE = VAR / "local-state.json"
PYTHON = Path(sys.executable)
COMMON_LAYER = ROOT / "layers" / "common" / "python"
# data of services that run as their own system user (postgres), when that user cannot reach var/
SERVICE_HOME = Path(os.environ.get("MYBROKER_SERVICE_HOME", "/var/lib/mybroker"))
UNIX_SOCKET_MAX = 107  # bytes of sun_path, without its terminating NUL


def clone_id() -> str:
    """A short name for this clone's var/, stable while the clone stays where it is."""
    return hashlib.sha256(os.fsencode(VAR.resolve())).hexdigest()[:12]


def socket_path(name: str, margin: int = 8) -> Path:
    """A unix socket's path: in var/run when short enough, else in a short private folder of this user in /tmp
    (``margin`` leaves room for what a server appends, such as PostgreSQL's ``.lock``)."""
    wanted = RUN / name
    if len(os.fsencode(wanted)) + margin <= UNIX_SOCKET_MAX:
        return wanted
    return short_dir() / name


def short_dir() -> Path:
    """A short folder of this user and clone in /tmp (create it with ``ensure_private_dir``)."""
    return Path("/tmp") / f"mybroker-{os.getuid()}-{clone_id()}"


def shell_safe(path: Path) -> bool:
    """Whether a path survives a shell script that forgot to quote it (no blanks, quotes or wildcards)."""
    return not any(c.isspace() or c in "*?[]'\"\\$`;&|<>()" for c in str(path))


def ensure_private_dir(path: Path) -> Path:
    """Create a folder only this user can enter, refusing one that someone else made (e.g. in /tmp)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if path.is_symlink() or st.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a folder owned by uid {os.getuid()}; remove it and retry")
    return path


def ensure_dirs() -> None:
    for d in (VAR, BIN, LOGS, RUN, BUILD):
        d.mkdir(parents=True, exist_ok=True)
