"""Runs one EngineService for the recovery test (a subprocess the test can ``kill -9``).

    python tests/integration/engine/engine_entry.py <journal dir> <queue> <output exchange> <snapshot every>

Liquidity agents off, Kafka and Redis off, the clock fixed at START_NS (one journaled tick at the start,
none after: the run is deterministic), no reference-price refresh. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from engine_service.core import SessionCalendar  # noqa: E402
from engine_service.service import EngineService  # noqa: E402
from tests.integration.engine.engine_helpers import AMQP_URL, INSTRUMENTS, START_NS, FixedClock  # noqa: E402


def main() -> None:
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    journal_dir, queue, exchange, snapshot_every = sys.argv[1:5]
    service = EngineService(Path(journal_dir), AMQP_URL, queue, None, None, int(snapshot_every),
                            output_exchange=exchange, instruments=INSTRUMENTS, calendar=SessionCalendar(),
                            clock=FixedClock(START_NS), reference_refresh=False)

    def stop(*_: Any) -> None:
        service.stopping = True

    signal.signal(signal.SIGTERM, stop)
    service.run()


if __name__ == "__main__":
    main()
