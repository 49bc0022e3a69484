"""The ``FloorRefused`` metric: the wallet refused a posting that would have taken a balance below zero.

Nothing moved (the transaction rolled back), but something upstream asked for money or shares that are not
there: a bug or an attack. Every wallet function reports it as one Powertools (EMF) metric with the fixed
dimension ``service=wallet`` rather than its own function name, so one CloudWatch alarm
(``infra/observability.py``: more than 0 in 5 minutes) covers them all. A metric with no data point costs
nothing. Where the floor is expected to hold something back (the IRRF withholding waiting for settled cash)
it is not a refusal of this kind and is not reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from mybroker.wallet.ledger import FloorBreached

METRIC = "FloorRefused"
DIMENSIONS = {"service": "wallet"}  # = infra.observability.FLOOR_REFUSED_DIMENSIONS
DEFAULT_NAMESPACE = "MyBrokerB3"


def floor_refused(count: int = 1) -> None:
    """Emit ``FloorRefused`` (printed to stdout as an EMF record, which CloudWatch turns into the metric)."""
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    with single_metric(name=METRIC, unit=MetricUnit.Count, value=count, namespace=namespace,
                       default_dimensions=DIMENSIONS):
        pass


@contextmanager
def reported() -> Iterator[None]:
    """Emit ``FloorRefused`` for a refusal that escapes the block, and let it go on."""
    try:
        yield
    except FloorBreached:
        floor_refused()
        raise
