"""One way to connect to Temporal, shared by worker, gateway, CLI and tests."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


async def connect(target: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    """A client; with `runtime`, its workers report through that runtime's telemetry (`sdk_runtime`)."""
    return await Client.connect(target, namespace=namespace, data_converter=pydantic_data_converter,
                                runtime=runtime)


def sdk_runtime(metrics_port: int) -> Runtime | None:
    """A Runtime exporting the SDK's metrics (workflow and activity task latencies, polls, slots, sticky
    cache, requests) as Prometheus text on 127.0.0.1:`metrics_port`; None for port 0 (the default runtime,
    no exporter). Made once per process, by the process that runs the worker: the exporter binds its port
    when the Runtime is created."""
    if not metrics_port:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{metrics_port}")))
