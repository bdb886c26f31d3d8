"""Wire shapes of URL groups (GET /v2/topics, GET /v2/topics/{name})."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.topics.models import Topic


class EndpointView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    name: str | None = None
    url: str


class TopicView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    name: str
    created_at: int = Field(alias="createdAt")
    updated_at: int = Field(alias="updatedAt")
    endpoints: list[EndpointView]


def topic_view(topic: Topic) -> TopicView:
    return TopicView(
        name=topic.name,
        created_at=topic.created_at_ms,
        updated_at=topic.updated_at_ms,
        endpoints=[EndpointView(name=e.name, url=e.url) for e in topic.endpoints],
    )
