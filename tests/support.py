"""Helpers for tests against the real PostgreSQL and Kafka started by `make test`."""
from __future__ import annotations

import asyncio
import copy
import random
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx

from services.contracts.domain.identifiers import uai_check_letter
from shared.scratch_databases import create_database, drop_database  # noqa: F401 (used by the tests)
from shared.settings import Settings, get_settings

CFA_A, CFA_B, OPCO_X, OPCO_Y = "0751234J", "0931234L", "ATLAS", "AKTO"


def base_url() -> str:
    return get_settings().database_url


# the topic prefixes this test session gave out (its topics are deleted as it ends: conftest.py)
SESSION_PREFIXES: set[str] = set()


def settings_for(database_url: str, **overrides: Any) -> Settings:
    prefix = f"t{secrets.token_hex(4)}."
    SESSION_PREFIXES.add(prefix)
    return Settings(database_url=database_url, topic_prefix=prefix,
                    topic_partitions=3, relay_idle_seconds=0.01,
                    **{"webhook_allowed_hosts": "127.0.0.1,localhost", "webhook_poll_seconds": 0.05, **overrides})


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition"):
    """Re-evaluate ``check`` until it returns a truthy value; fail after ``timeout`` seconds.
    Used to wait for asynchronous delivery (Kafka), never as a fixed delay."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def delete_session_topics(bootstrap: str) -> int:
    """Deletes the topics of every prefix ``settings_for`` gave out in this session (a suite run
    on a long-lived Kafka would otherwise leave hundreds behind); returns how many."""
    if not SESSION_PREFIXES:   # (the unit tests: no Kafka to ask)
        return 0
    from aiokafka.admin import AIOKafkaAdminClient
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t[:10] in SESSION_PREFIXES]
        if mine:
            await admin.delete_topics(mine)
        return len(mine)
    finally:
        await admin.close()


@dataclass
class Keys:
    cfa_a: str
    cfa_b: str
    opco_x: str
    opco_y: str
    ops: str

    @staticmethod
    def header(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def running(app):
    """Run an app's lifespan (engine, workers) and yield an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app
            yield client


def contract_terms(**over: Any) -> dict[str, Any]:
    body = {
        "apprentice": {"id": f"app-{secrets.token_hex(6)}", "birth_date": "2005-03-14"},
        "employer": {"siret": "12345678200010", "idcc": "1486"},
        "cfa": {"uai": CFA_A, "siret": "98765432400019"},
        "certification": {"rncp": "RNCP35185", "level": 5},
        "signed_on": "2024-09-20", "start_date": "2024-09-28", "planned_end_date": "2025-10-03",
        "contract_type": "11",
    }
    body.update(over)
    return body


def cerfa_body(**sections: Any) -> dict[str, Any]:
    """The README's full CERFA (services/contracts/api/examples.py) for a person of its own: a fresh
    apprentice (birth name and NIR) and a fresh master, so that tests sharing a database never
    overlap; ``sections`` are merged into the example's sections (``contract={...}``)."""
    from services.contracts.api.examples import SIGN_CERFA
    from services.contracts.domain.nir import with_key
    body = copy.deepcopy(SIGN_CERFA)
    tag = secrets.token_hex(4)
    a = body["apprentice"]
    a["birth_name"] = f"Martin-{tag}"
    a["nir"] = with_key(f"2050375{random.randint(0, 999_999):06d}")
    body["masters"][0]["birth_name"] = f"Durand-{tag}"
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(body.get(name), dict):
            body[name] = {**body[name], **value}
        else:
            body[name] = value
    return body


@asynccontextmanager
async def isolated_contracts(**settings_overrides):
    """A contracts service on a database of its own (for tests that damage or fast-forward it),
    with keys: yields (client, app, keys, database url)."""
    from services.contracts.api.app import create_app
    from shared.auth import create_key
    from shared.clock import FixedClock
    from datetime import date

    url = await create_database("iso")
    clock = FixedClock(date(2020, 1, 1))
    app = create_app(settings_for(url, **settings_overrides), clock=clock)
    try:
        async with running(app) as client:
            async with app.state.engine.begin() as conn:
                made = [(await create_key(conn, role, org))[1] for role, org in
                        (("cfa", CFA_A), ("cfa", CFA_B), ("opco", OPCO_X), ("opco", OPCO_Y), ("ops", "ops"))]
            client.app = app
            yield client, app, Keys(*made), url, clock
    finally:
        await drop_database(url)


def fresh_uai() -> str:
    """A valid UAI of this test's own (random digits, the check letter computed), so what the test
    records is the only thing that CFA holds."""
    digits = f"{random.randrange(10**6, 10**7):07d}"
    return digits + uai_check_letter(digits)
