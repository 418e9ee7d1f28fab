"""Turning OpenTelemetry export on: in code, or from the standard ``OTEL_*`` variables.

Nothing is exported unless one of these happens:

- the program calls `instrument()` (with its own providers, or the global ones);
- the ``otel`` extra is installed and the environment asks for export
  (``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` set to something other
  than ``none``, or an ``OTEL_EXPORTER_OTLP_*ENDPOINT``); then the first run of
  the process instruments itself.

OpenTelemetry is imported only then, so core podium never needs it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError
from podium.events import Event
from podium.observe._listeners import add_run_listener, remove_run_listener

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from podium.observe._otel import OtelInstruments

__all__ = ["Instrumentation", "autoinstrument", "instrument", "otel_requested", "uninstrument"]

_log = logging.getLogger("podium.observe.otel")
_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_active: Instrumentation | None = None


class Instrumentation:
    """podium's OpenTelemetry export while active: a factory of per-run listeners."""

    def __init__(self, instruments: OtelInstruments, providers: tuple[Any, ...] = ()) -> None:
        self.instruments = instruments
        self._providers = providers  # created from the environment: ours to shut down

    def __call__(self, run_id: str) -> Callable[[Event], None]:
        """The listener for one run's events."""
        from podium.observe._otel import RunSpans

        return RunSpans(run_id, self.instruments)

    def shutdown(self) -> None:
        """Flush and close the providers this created (not ones passed in)."""
        for provider in self._providers:
            provider.shutdown()


def _version() -> str:
    try:
        return metadata.version("podium")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def instrument(
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    *,
    capture_content: bool | None = None,
) -> Instrumentation:
    """Export every later run of this process as OpenTelemetry spans and metrics.

    Args:
        tracer_provider: where spans go; the global provider when None.
        meter_provider: where metrics go; the global provider when None.
        capture_content: also record (redacted) prompts, answers, tool arguments
            and results as span attributes; by default only when
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.

    Returns:
        The active instrumentation (replacing any earlier one).

    Raises:
        ConfigError: OpenTelemetry is not installed (``pip install 'podium[otel]'``).
    """
    return _install(tracer_provider, meter_provider, capture_content, ())


def _install(
    tracer_provider: Any, meter_provider: Any, capture_content: bool | None, own: tuple[Any, ...]
) -> Instrumentation:
    global _active
    try:
        from opentelemetry import metrics, trace

        from podium.observe._otel import OtelInstruments
    except ImportError as exc:
        raise ConfigError(
            "OpenTelemetry export needs the otel extra: pip install 'podium[otel]'"
        ) from exc
    if capture_content is None:
        capture_content = os.environ.get(_CONTENT_ENV, "").lower() == "true"
    version = _version()
    instruments = OtelInstruments(
        trace.get_tracer("podium", version, tracer_provider=tracer_provider),
        metrics.get_meter("podium", version, meter_provider=meter_provider),
        capture_content=capture_content,
    )
    uninstrument()
    _active = Instrumentation(instruments, own)
    add_run_listener(_active)
    return _active


def uninstrument() -> None:
    """Stop exporting runs (providers created from the environment are shut down)."""
    global _active
    if _active is not None:
        remove_run_listener(_active)
        _active.shutdown()
        _active = None


def otel_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True when the standard ``OTEL_*`` variables ask for export."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = [env.get(k, "").strip().lower() for k in _EXPORTER_VARS]
    endpoints = any(env.get(k, "").strip() for k in _ENDPOINT_VARS)
    return endpoints or any(x and x != "none" for x in exporters)


_EXPORTER_VARS = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER")
_ENDPOINT_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


def _exporter_names(env: Mapping[str, str], var: str) -> list[str]:
    default = "otlp" if any(env.get(k, "").strip() for k in _ENDPOINT_VARS) else "none"
    names = env.get(var, "").strip().lower() or default
    return [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]


def _otlp(env: Mapping[str, str], signal: str) -> Any:
    protocol = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    transport = "grpc" if protocol.strip() == "grpc" else "http"
    module = f"opentelemetry.exporter.otlp.proto.{transport}.{signal}_exporter"
    name = "OTLPSpanExporter" if signal == "trace" else "OTLPMetricExporter"
    try:
        return getattr(__import__(module, fromlist=[name]), name)()
    except ImportError:
        _log.warning(
            "OTLP export was requested but %s is not installed "
            "(pip install opentelemetry-exporter-otlp); %ss are not exported",
            module,
            signal,
        )
        return None


def _providers_from_env(env: Mapping[str, str]) -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "podium"})
    tracer_provider = TracerProvider(resource=resource)
    for name in _exporter_names(env, "OTEL_TRACES_EXPORTER"):
        console = name == "console"
        span_exporter = ConsoleSpanExporter(out=sys.stdout) if console else _otlp(env, "trace")
        if span_exporter is not None:
            tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    readers = []
    for name in _exporter_names(env, "OTEL_METRICS_EXPORTER"):
        console = name == "console"
        metric_exporter = (
            ConsoleMetricExporter(out=sys.stdout) if console else _otlp(env, "metrics")
        )
        if metric_exporter is not None:
            readers.append(PeriodicExportingMetricReader(metric_exporter))
    return tracer_provider, MeterProvider(resource=resource, metric_readers=readers)


def autoinstrument(environ: Mapping[str, str] | None = None) -> Instrumentation | None:
    """Instrument from the environment, if it asks and the SDK is installed; else None.

    An application that already set global OpenTelemetry providers (for example
    under ``opentelemetry-instrument``) keeps them; otherwise podium builds
    providers from ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``
    (``console`` or ``otlp``) and the ``OTEL_EXPORTER_OTLP_*`` settings.
    """
    env = os.environ if environ is None else environ
    if _active is not None or not otel_requested(env):
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    except ImportError:
        _log.info("OTEL_* export settings found but opentelemetry-sdk is not installed")
        return None
    if isinstance(trace.get_tracer_provider(), SdkTracerProvider):
        return _install(None, None, None, ())
    tracer_provider, meter_provider = _providers_from_env(env)
    return _install(tracer_provider, meter_provider, None, (tracer_provider, meter_provider))
