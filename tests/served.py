"""The four services as real processes (uvicorn, started by ``deploy/stack.sh services``) on
free ports, over a database and a topic prefix of their own: what the fuzz, README and browser
tests call, so the suite never touches the stack `make run` started."""
from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.net import free_port
from shared.auth import create_key
from shared.db import make_engine
from tests.support import CFA_A, CFA_B, OPCO_X, OPCO_Y, Keys, create_database, drop_database, settings_for

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "deploy" / "stack.sh"
SERVICES = ("contracts", "financing", "quality", "webhooks")


@dataclass
class Served:
    urls: dict[str, str]
    keys: Keys
    database_url: str
    data_dir: Path
    env: dict[str, str]

    def log(self, service: str) -> str:
        return (self.data_dir / "log" / f"{service}.log").read_text()


def _stack(command: str, env: dict[str, str]) -> None:
    done = subprocess.run(["bash", str(STACK), command], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"stack.sh {command} failed: {done.stderr[-3000:]}")


async def make_keys(database_url: str) -> Keys:
    engine = make_engine(settings_for(database_url), pool_size=1)
    try:
        async with engine.begin() as conn:
            return Keys(*[(await create_key(conn, role, org, label="test"))[1] for role, org in
                          (("cfa", CFA_A), ("cfa", CFA_B), ("opco", OPCO_X), ("opco", OPCO_Y), ("ops", "ops"))])
    finally:
        await engine.dispose()


@asynccontextmanager
async def served_stack(data_dir: Path, **environment: str):
    """Start the four services over a fresh database; stop them and drop it at the end."""
    url = await create_database("srv")
    ports = {name: free_port() for name in SERVICES}
    env = {**os.environ, "PARCOURS_DATA_DIR": str(data_dir), "PARCOURS_DATABASE_URL": url,
           "PARCOURS_TOPIC_PREFIX": f"t{secrets.token_hex(4)}.", "PARCOURS_RELAY_IDLE_SECONDS": "0.01",
           **{f"PARCOURS_{name.upper()}_PORT": str(port) for name, port in ports.items()}, **environment}
    try:
        keys = await make_keys(url)
        await asyncio.to_thread(_stack, "services", env)
        yield Served({name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, keys, url, data_dir, env)
    finally:
        await asyncio.to_thread(_stack, "stop_services", env)
        await drop_database(url)
