"""Wire shape of a queue (GET /v2/queues, GET /v2/queues/{name})."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.queues.service import QueueInfo


class QueueView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    name: str
    parallelism: int
    created_at: int = Field(alias="createdAt")
    updated_at: int = Field(alias="updatedAt")
    lag: int
    paused: bool


def queue_view(info: QueueInfo) -> QueueView:
    queue = info.queue
    return QueueView(
        name=queue.name,
        parallelism=queue.parallelism,
        created_at=queue.created_at_ms,
        updated_at=queue.updated_at_ms,
        lag=info.lag,
        paused=queue.paused,
    )
