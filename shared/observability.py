"""JSON logs (structlog) and Prometheus metrics shared by the services."""
from __future__ import annotations

import logging
import os
import re
import sys

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess

REQUEST_LATENCY = Histogram("parcours_http_request_seconds", "HTTP request latency",
                            ["service", "method", "route", "status"])
EVENTS_APPENDED = Counter("parcours_events_appended_total", "Events appended to the store", ["service"])
EVENTS_PUBLISHED = Counter("parcours_events_published_total", "Events published to Kafka", ["topic"])
EVENTS_CONSUMED = Counter("parcours_events_consumed_total", "Events applied by a consumer", ["consumer"])
EVENTS_DEAD_LETTERED = Counter("parcours_events_dead_lettered_total", "Records sent to a DLQ", ["consumer"])
# With several HTTP workers (PROMETHEUS_MULTIPROC_DIR set, see metrics_registry) each gauge keeps
# one value per live process and /metrics shows the largest: the partition's owner, the elected
# relay, the worker that saw a dependency down last (multiprocess_mode is ignored otherwise).
CONSUMER_LAG = Gauge("parcours_consumer_lag", "Records behind the end of the partition",
                     ["consumer", "topic", "partition"], multiprocess_mode="livemax")
DEPENDENCY_UP = Gauge("parcours_dependency_up", "1 when the dependency answered the last health check",
                      ["service", "dependency"], multiprocess_mode="livemostrecent")
OUTBOX_BACKLOG = Gauge("parcours_outbox_backlog", "Events not yet published", ["topic"],
                       multiprocess_mode="livemax")
WEBHOOK_ATTEMPTS = Counter("parcours_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"])
WEBHOOK_ATTEMPT_SECONDS = Histogram("parcours_webhook_attempt_seconds", "Webhook delivery attempt latency",
                                    ["outcome"])
WEBHOOK_OLDEST_PENDING = Gauge("parcours_webhook_oldest_pending_seconds",
                               "Age of the oldest event an endpoint has not received yet", ["endpoint"],
                               multiprocess_mode="livemax")

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own setting: deploy/stack.sh sets it


def metrics_registry() -> CollectorRegistry:
    """What /metrics and /health read: this process's metrics, or, when the service runs as
    several uvicorn workers (deploy/stack.sh sets PROMETHEUS_MULTIPROC_DIR for them), every live
    worker's, summed for counters and histograms (prometheus_client's multiprocess mode)."""
    if MULTIPROCESS_DIR not in os.environ:  # prometheus_client's own test: present, even empty
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def forget_this_process() -> None:
    """At a worker's clean exit: its live gauges leave the multiprocess files (its counters stay
    counted). A worker killed without notice keeps its last gauge values until the stack restarts."""
    if MULTIPROCESS_DIR in os.environ:
        multiprocess.mark_process_dead(os.getpid())

_SECRET = re.compile(r"(Bearer\s+)\S+|(prc_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]+", re.I)
_PERSONAL_KEYS = {"birth_date", "authorization", "api_key", "key", "password", "name", "first_name",
                  "last_name"}


def _scrub_value(value):
    if isinstance(value, str):
        return _SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "***", value)
    if isinstance(value, dict):
        return {k: ("***" if k.lower() in _PERSONAL_KEYS else _scrub_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return value


def scrub(_, __, event_dict):
    """Never log keys, tokens or personal data (names, birth dates)."""
    return {k: ("***" if k.lower() in _PERSONAL_KEYS else _scrub_value(v)) for k, v in event_dict.items()}


class _StderrLogger:
    """Writes each line to the current sys.stderr (resolved per call, never a stale stream)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info, scrub,
                    structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *args: _StderrLogger(),
        cache_logger_on_first_use=True,
    )


def peak_rss_mib() -> float | None:
    """This process's peak resident memory in MiB (Linux's VmHWM: since the process's exec or the
    last reset through /proc/self/clear_refs; ``ru_maxrss`` would also count, in a spawned
    process, the parent's memory at the fork). None where /proc is not there."""
    try:
        status = open("/proc/self/status").read()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else None
