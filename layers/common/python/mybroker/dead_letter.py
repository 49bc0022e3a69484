"""Records a consumer can never read, parked on the ``esm-failures`` topic with the reason.

A Kafka event source mapping on demand has no on-failure destination (that needs provisioned pollers, about
$135 a month each), and a function error makes it retry the whole batch until it succeeds. So a function
that meets a record it can never read hands it here and moves on; anything else it raises, and the batch is
retried (the consumers dedupe by event id). The parked record keeps the event source's shape (``record``,
base64 key and value) and says where it came from in its headers, as the local runtime's on-failure
records do, so one tool reads both.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mybroker.settings import Settings

TOPIC = "esm-failures"


class DeadLetters:
    def __init__(self, function_name: str, topic: str = TOPIC, s: Settings | None = None,
                 timeout_s: float = 10.0) -> None:
        self.function_name = function_name
        self.topic = topic
        self.settings = s
        self.timeout_s = timeout_s
        self._producer: Any = None

    def park(self, record: dict[str, Any], error: str) -> None:
        """Sends ``record`` (the event's raw record: topic, partition, offset, key, value, ...) and waits for
        the broker's acknowledgement; raises if it cannot, so the batch is retried and nothing is lost."""
        if self._producer is None:
            from mybroker.kafka import producer

            self._producer = producer(self.settings, linger_ms=0)
        headers = [
            ("esm-function", self.function_name.encode()),
            ("source-topic", str(record.get("topic", "")).encode()),
            ("source-partition", str(record.get("partition", "")).encode()),
            ("source-offset", str(record.get("offset", "")).encode()),
            ("error-type", b"UnreadableRecord"),
            ("error", error.encode()[:2000]),
        ]
        body = json.dumps({
            "requestContext": {"functionName": self.function_name, "condition": "UnreadableRecord"},
            "responseContext": {"functionError": "UnreadableRecord", "payload": error[:2000]},
            "record": record,
        }).encode()
        key = base64.b64decode(record["key"]) if record.get("key") else None
        self._producer.send(self.topic, key=key, value=body, headers=headers).get(timeout=self.timeout_s)
