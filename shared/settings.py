"""Settings read from the environment (prefix ``PARCOURS_``), one object for every service."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARCOURS_", extra="ignore")

    database_url: str = "postgresql+asyncpg://parcours@127.0.0.1:5432/parcours"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Prefixed to every topic name; tests use a fresh prefix so runs never collide.
    topic_prefix: str = ""
    topic_partitions: int = 6
    reference_data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    log_level: str = "INFO"
    # Background workers (outbox relay, consumers, scheduler) start with the app unless disabled.
    run_workers: bool = True
    relay_batch_size: int = 1000
    relay_idle_seconds: float = 0.05
    scheduler_interval_seconds: float = 60.0
    consumer_batch_size: int = 1000
    statement_timeout_ms: int = 15000
    # Connections each process keeps (docs/scaling.md, "Connections"): a request past the pool
    # waits for a connection instead of opening one per call (a new connection costs PostgreSQL a
    # backend and this process the statements it had prepared); past pool + overflow it waits.
    db_pool_size: int = 20
    db_max_overflow: int = 10
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 50_000_000
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    # uvicorn worker processes per service (deploy/stack.sh); past one, the rate limit's buckets
    # live in PostgreSQL (auth.rate_buckets), shared by the workers.
    http_workers: int = 1
    # Webhooks (docs/webhooks.md): hosts allowed over http and on internal addresses (comma-separated;
    # `make run` and the tests allow loopback), each attempt's timeout and answer read limit.
    webhook_allowed_hosts: str = ""
    webhook_timeout_seconds: float = 10.0
    webhook_read_limit_bytes: int = 64 * 1024
    webhook_poll_seconds: float = 0.25
    webhook_per_endpoint: int = 4

    @property
    def webhook_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip())

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
