"""A Parcours stack of the trial's own: PostgreSQL, Kafka and the four services started by
``deploy/stack.sh`` on free ports, with a data directory, a database and a topic prefix that
nothing else uses. The live stack (`make run`, `.data/`) is never touched: every process this
module signals is first checked to belong to this stack's data directory (see ``processes``)."""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chaos import processes
from shared.net import free_port
from shared.settings import REPO_ROOT, Settings

STACK = REPO_ROOT / "deploy" / "stack.sh"
SERVICES = ("contracts", "financing", "quality", "webhooks")
# one financing projection worker beside the service's own consumer (docs/scaling.md): a kill
# moves its partitions to the service, which must neither lose nor double an effect
PROJECTION_WORKER = "financing-worker-1"
COMPONENTS = (*SERVICES, PROJECTION_WORKER, "kafka", "postgres")
CHAOS_DATA = REPO_ROOT / ".chaos-data"


class StackError(RuntimeError):
    pass


@dataclass
class OwnStack:
    data_dir: Path
    ports: dict[str, int]
    topic_prefix: str
    database: str = "parcours_chaos"
    keys: dict[str, str] = field(default_factory=dict)   # role -> raw key (cfa, opco, ops)

    @classmethod
    def fresh(cls, name: str | None = None) -> "OwnStack":
        """A new data directory under `.chaos-data/` and free ports for every listener."""
        run = name or f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        data_dir = (CHAOS_DATA / run).resolve()
        data_dir.mkdir(parents=True)
        # the postgres user must reach the cluster in <data>/pg (stack.sh runs it as postgres when root)
        for d in (CHAOS_DATA, data_dir):
            d.chmod(0o755)
        names = ("pg", "kafka", "controller", *SERVICES)
        ports: set[int] = set()
        while len(ports) < len(names):
            ports.add(free_port())
        return cls(data_dir, dict(zip(names, sorted(ports))), f"chaos{secrets.token_hex(4)}.")

    # -- environment ---------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://parcours@127.0.0.1:{self.ports['pg']}/{self.database}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['kafka']}"

    def listens(self, component: str) -> list[int]:
        """The ports a component accepts on."""
        return {"kafka": [self.ports["kafka"], self.ports["controller"]], "postgres": [self.ports["pg"]],
                PROJECTION_WORKER: []}.get(component, [self.ports.get(component, 0)])

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of stack.sh and the ops CLI: nothing inherited of PARCOURS_*."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
        # the code of this checkout, whatever the virtualenv's editable install points at
        path = os.pathsep.join(p for p in (str(REPO_ROOT), base.get("PYTHONPATH", "")) if p)
        return {**base, "PYTHONPATH": path, "PARCOURS_DATA_DIR": str(self.data_dir),
                "PARCOURS_PG_PORT": str(self.ports["pg"]), "PARCOURS_PG_DB": self.database, "PARCOURS_DATABASE_URL": self.database_url,
                "PARCOURS_KAFKA_PORT": str(self.ports["kafka"]), "PARCOURS_KAFKA_BOOTSTRAP": self.bootstrap,
                "PARCOURS_KAFKA_CONTROLLER_PORT": str(self.ports["controller"]),
                "PARCOURS_TOPIC_PREFIX": self.topic_prefix, "PARCOURS_FINANCING_WORKERS": "1",
                # the trial's webhook receiver listens on loopback over http (chaos/receiver.py)
                "PARCOURS_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,localhost",
                **{f"PARCOURS_{s.upper()}_PORT": str(self.ports[s]) for s in SERVICES}}

    def settings(self) -> Settings:
        return Settings(database_url=self.database_url, kafka_bootstrap=self.bootstrap,
                        topic_prefix=self.topic_prefix)

    # -- stack.sh ------------------------------------------------------------------------------
    async def stack(self, command: str, timeout: float = 300) -> None:
        status, out = await processes.run(["bash", str(STACK), command], self.env, REPO_ROOT, timeout)
        if status:
            raise StackError(f"stack.sh {command} failed ({status}): {out[-2000:]}")

    async def up(self) -> None:
        """PostgreSQL, Kafka, migrations, demo keys and the services (`stack.sh up`), then check
        the cluster really lives in this data directory before anything is signalled."""
        if self.data_dir.resolve() == (REPO_ROOT / ".data").resolve():
            raise StackError("refusing to run the trial in the live stack's data directory")
        if os.geteuid() == 0 and (await processes.run(["runuser", "-u", "postgres", "--", "test", "-x",
                                                       str(self.data_dir)], self.env, REPO_ROOT, 30))[0]:
            # stack.sh would put the cluster in /var/tmp, shared by every trial of this checkout
            raise StackError(f"the postgres user cannot reach {self.data_dir}")
        await self.stack("up", timeout=600)
        if processes.postmaster_pid(self.data_dir) is None:
            raise StackError(f"PostgreSQL did not start in {self.data_dir / 'pg'} (is it reachable by postgres?)")
        for line in (self.data_dir / "demo-keys.txt").read_text().splitlines():
            role, org, raw = line.split("\t")
            if (role, org) in (("cfa", "0751234J"), ("opco", "ATLAS"), ("ops", "ops")):
                self.keys[role] = raw

    async def down(self) -> None:
        """Stop every process of this stack (stack.sh down, then SIGKILL whatever of this data
        directory survived it)."""
        try:
            await self.stack("down", timeout=120)
        except StackError:
            pass
        for pid in processes.owned(self.data_dir):
            processes.kill9(pid, self.data_dir)
        await processes.wait_gone(processes.owned(self.data_dir), deadline=30)

    def remove(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            CHAOS_DATA.rmdir()  # only when no other trial's directory is left
        except OSError:
            pass

    def keep_logs(self, into: Path) -> None:
        """Copy the logs (stack and PostgreSQL) somewhere that outlives the data directory."""
        into.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / "log").is_dir():
            shutil.copytree(self.data_dir / "log", into / "log", dirs_exist_ok=True)
        server_log = self.data_dir / "pg" / "server.log"
        if server_log.exists():
            shutil.copy(server_log, into / "log" / "postgresql.log")

    # -- readiness -----------------------------------------------------------------------------
    async def ready(self, service: str) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{self.url(service)}/health/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    async def broker_answers(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), 5)
            return any(t.startswith(self.topic_prefix) for t in await asyncio.wait_for(admin.list_topics(), 5))
        except Exception:
            return False
        finally:
            try:
                await asyncio.wait_for(admin.close(), 5)
            except Exception:
                pass
