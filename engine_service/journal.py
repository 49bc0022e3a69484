"""The engine's durability: an append-only input journal (fsync'd in small batches before the broker
messages are acknowledged) and periodic snapshots. After a crash the books are rebuilt by loading the
newest snapshot and replaying the journal lines after it; nothing journaled is lost.

Journal line: ``[line_number, command_id, <encoded core input>]`` as compact JSON. A line that was
half-written when the process died (no trailing newline, or unparseable) is the end of the journal and
is truncated away on open.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "journal.log"
        self.next_line = self._recover()
        self._file = self.path.open("ab", buffering=0)
        self._pending: list[bytes] = []

    def _recover(self) -> int:
        """Counts the complete lines and cuts off a torn tail."""
        if not self.path.exists():
            return 0
        good_bytes = 0
        count = 0
        with self.path.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                try:
                    json.loads(raw)
                except ValueError:
                    break
                good_bytes += len(raw)
                count += 1
        if good_bytes != self.path.stat().st_size:
            with self.path.open("r+b") as f:
                f.truncate(good_bytes)
        return count

    def append(self, command_id: str, encoded_input: bytes) -> int:
        """Buffers one input; it is durable after :meth:`sync`. Returns its line number."""
        n = self.next_line
        self._pending.append(b'[%d,%s,%s]\n' % (n, json.dumps(command_id).encode(), encoded_input))
        self.next_line += 1
        return n

    def sync(self) -> None:
        if not self._pending:
            return
        self._file.write(b"".join(self._pending))
        os.fsync(self._file.fileno())
        self._pending.clear()

    def replay(self, after_line: int) -> Iterator[tuple[int, str, Any]]:
        """(line number, command id, encoded input) for every complete line numbered >= after_line."""
        with self.path.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    return
                n, command_id, encoded = json.loads(raw)
                if n >= after_line:
                    yield n, command_id, encoded

    def close(self) -> None:
        self.sync()
        self._file.close()


class Snapshots:
    """``snapshot-<next journal line>.bin`` files, written atomically (temp file, fsync, rename)."""

    def __init__(self, directory: Path, keep: int = 3) -> None:
        self.directory = directory
        self.keep = keep
        directory.mkdir(parents=True, exist_ok=True)

    def save(self, next_line: int, blob: bytes) -> Path:
        final = self.directory / f"snapshot-{next_line:012d}.bin"
        tmp = final.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(final)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        for old in sorted(self.directory.glob("snapshot-*.bin"))[: -self.keep]:
            old.unlink()
        return final

    def latest(self) -> tuple[int, bytes] | None:
        files = sorted(self.directory.glob("snapshot-*.bin"))
        if not files:
            return None
        newest = files[-1]
        return int(newest.stem.split("-")[1]), newest.read_bytes()
