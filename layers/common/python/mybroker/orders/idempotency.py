"""Powertools' Redis idempotency store, with payload validation that survives a completed record.

In aws-lambda-powertools 3.37 ``RedisCachePersistenceLayer._update_record`` rewrites the record without the
payload hash, so every replay of a completed request fails validation (``IdempotencyValidationError``) even
with the same payload. This subclass keeps the hash when it completes the record.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer


class ValidatingRedisPersistence(RedisCachePersistenceLayer):
    def _update_record(self, data_record: DataRecord) -> None:
        mapping: dict[str, Any] = {
            self.data_attr: data_record.response_data,
            self.status_attr: data_record.status,
            self.expiry_attr: data_record.expiry_timestamp,
        }
        if self.payload_validation_enabled:
            mapping[self.validation_key_attr] = data_record.payload_hash
        ttl = self._get_expiry_second(data_record.expiry_timestamp)
        self.client.set(name=data_record.idempotency_key, value=self._json_serializer(mapping), ex=ttl)
