"""Wire shapes of flow control (GET /v2/flowControl[/{key}], GET /v2/globalParallelism)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.flow.service import FlowInfo


class FlowControlView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    flow_control_key: str = Field(alias="flowControlKey")
    wait_list_size: int = Field(alias="waitListSize")
    parallelism_max: int = Field(alias="parallelismMax")
    parallelism_count: int = Field(alias="parallelismCount")
    rate_max: int = Field(alias="rateMax")
    rate_count: int = Field(alias="rateCount")
    rate_period: int = Field(alias="ratePeriod", description="seconds")
    rate_period_start: int = Field(alias="ratePeriodStart", description="unix seconds")
    is_paused: bool = Field(alias="isPaused")
    is_pinned_parallelism: bool = Field(alias="isPinnedParallelism")
    is_pinned_rate: bool = Field(alias="isPinnedRate")


class GlobalParallelismView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    parallelism_max: int = Field(alias="parallelismMax")
    parallelism_count: int = Field(alias="parallelismCount")


def flow_control_view(info: FlowInfo) -> FlowControlView:
    state = info.state
    parallelism, rate, period = state.limits(None)
    return FlowControlView(
        flow_control_key=state.key,
        wait_list_size=info.wait_list_size,
        parallelism_max=parallelism or 0,
        parallelism_count=info.parallelism_count,
        rate_max=rate or 0,
        rate_count=info.rate_count,
        rate_period=period,
        rate_period_start=info.rate_period_start_s,
        is_paused=state.paused,
        is_pinned_parallelism=state.pinned_parallelism is not None,
        is_pinned_rate=state.pinned_rate is not None,
    )
