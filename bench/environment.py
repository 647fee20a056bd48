"""Where a benchmark run happens: databases of its own on the stack's PostgreSQL, topics under
a prefix of its own on the stack's Kafka, services started on free ports, peak memory."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from shared import scratch_databases
from shared.net import free_port
from shared.observability import peak_rss_mib
from shared.settings import REPO_ROOT, Settings


@dataclass
class Database:
    url: str  # SQLAlchemy URL

    @property
    def parts(self):
        u = make_url(self.url)
        return u.host or "127.0.0.1", u.port or 5432, u.username or "parcours", u.database

    def settings(self, prefix: str, **overrides) -> Settings:
        return Settings(database_url=self.url, topic_prefix=prefix, **overrides)


async def create_database(tag: str) -> Database:
    return Database(await scratch_databases.create_database(f"bench_{tag}"))


async def drop_database(db: Database) -> None:
    await scratch_databases.drop_database(db.url)


async def drop_topics(settings: Settings, prefix: str) -> None:
    """Delete the run's topics (every topic whose name starts with the run's prefix)."""
    from aiokafka.admin import AIOKafkaAdminClient
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@dataclass
class Services:
    """Contracts and financing services (uvicorn, one process each) on a benchmark database."""
    db: Database
    prefix: str
    log_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)
    groups: dict[int, str] = field(default_factory=dict)  # pid -> service, its projection workers included

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, *names: str) -> None:
        env = self.env()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            self.ports[name] = free_port()
            log = (self.log_dir / f"bench-{name}.log").open("ab")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", f"services.{name}.api.app:create_app",
                 "--host", "127.0.0.1", "--port", str(self.ports[name]), "--no-access-log",
                 "--timeout-keep-alive", "120"],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=log))
            self.groups[self.procs[-1].pid] = name
        deadline = time.monotonic() + 60
        for name in names:
            while True:
                try:
                    if httpx.get(f"{self.url(name)}/health/live", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {name} service did not start (see {self.log_dir})")
                time.sleep(0.1)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PARCOURS_DATABASE_URL": self.db.url, "PARCOURS_TOPIC_PREFIX": self.prefix,
                # the benchmark measures the service, not the per-key limiter
                "PARCOURS_RATE_LIMIT_PER_SECOND": "1000000", "PARCOURS_RATE_LIMIT_BURST": "1000000",
                # the deadline scheduler ticks at start (nothing due yet), then not during the run:
                # the stages' contracts are dated 2024 (the same funding every day the bench runs),
                # so each would be transmission-overdue at its next tick, and a minute's thousands of
                # overdue events raised, relayed and projected were measured into the signatures'
                # latency and the CPU a call (a live run of 70 s: 11,282 of them beside 19,988 signs)
                "PARCOURS_SCHEDULER_INTERVAL_SECONDS": "86400",
                "PARCOURS_LOG_LEVEL": "WARNING"}

    def start_projection_workers(self, n: int) -> list[subprocess.Popen]:
        """``n`` financing projection workers beside the service's own consumer (one group)."""
        log = (self.log_dir / "bench-financing-workers.log").open("ab")
        workers = [subprocess.Popen([sys.executable, "-m", "services.financing.projection_worker"], cwd=REPO_ROOT,
                                    env=self.env(), stdout=log, stderr=log) for _ in range(n)]
        self.procs += workers
        self.groups |= {w.pid: "financing" for w in workers}
        return workers

    def processes(self) -> dict[str, list[int]]:
        """The running services' processes by service (bench.cpu_accounting's groups)."""
        running = {p.pid for p in self.procs}
        out: dict[str, list[int]] = {}
        for pid, name in self.groups.items():
            if pid in running:
                out.setdefault(name, []).append(pid)
        return out

    def stop(self, procs: list[subprocess.Popen] | None = None) -> None:
        procs = self.procs if procs is None else procs
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = [p for p in self.procs if p not in procs]


@contextmanager
def peak_memory():
    """Peak resident memory of this process during the block, in MiB (Linux: VmHWM, reset first)."""
    box = {"mib": None}
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    yield box
    box["mib"] = peak_rss_mib()
