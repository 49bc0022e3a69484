"""The HTTP APIs' JSON convention, shared by every service and the SDK's requests: camelCase field names over
snake_case attributes; an unknown field in a request is refused (422) rather than silently dropped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True,
                              extra="forbid")
