"""The peer: the `eventsourcing` library (PyPI) with its PostgreSQL module, on the same database.

An aggregate per contract records the same events; appends run in threads (the library is
synchronous); its ProjectionRunner builds a per-contract table (status and version), each event
in a transaction with the runner's tracking record, as the library's documentation shows."""
from __future__ import annotations

import threading
import time
from functools import singledispatchmethod
from typing import Any, Iterable

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

SCHEMA = "peer"


class Contract(Aggregate):
    @event("Signed")
    def __init__(self, data: dict[str, Any]):
        self.status = "signed"

    @event("Happened")
    def happen(self, kind: str, data: dict[str, Any]) -> None:
        self.status = kind.removeprefix("contract.")


class Contracts(Application):
    name = "contracts"


class ContractView(PostgresTrackingRecorder):
    """The per-contract table, written with the tracking record in one transaction."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.table = Identifier(datastore.schema, "contract_view")
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0} (contract_id uuid PRIMARY KEY, status text NOT NULL, "
            "version integer NOT NULL)").format(self.table))
        self.upsert_statement = SQL(
            "INSERT INTO {0} VALUES (%s, %s, %s) ON CONFLICT (contract_id) DO UPDATE "
            "SET status = excluded.status, version = excluded.version").format(self.table)

    def upsert(self, contract_id, status: str, version: int, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.upsert_statement, (contract_id, status, version), prepare=True)
            self._insert_tracking(curs, tracking)

    def rows(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT count(*) AS n FROM {0}").format(self.table))
            return curs.fetchone()["n"]


class ContractViewProjection(Projection[ContractView]):
    name = "contract_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register
    def _(self, domain_event: Contract.Signed, tracking: Tracking) -> None:
        self.view.upsert(domain_event.originator_id, "signed", domain_event.originator_version, tracking)

    @process_event.register
    def _(self, domain_event: Contract.Happened, tracking: Tracking) -> None:
        self.view.upsert(domain_event.originator_id, domain_event.kind.removeprefix("contract."),
                         domain_event.originator_version, tracking)


def environment(host: str, port: int, user: str, database: str, pool: int) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": database, "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(port), "POSTGRES_USER": user, "POSTGRES_PASSWORD": "unused-trust-auth",
            "POSTGRES_SCHEMA": SCHEMA, "POSTGRES_POOL_SIZE": str(pool), "POSTGRES_MAX_OVERFLOW": "0",
            "CREATE_TABLE": "y"}


def load_history(env: dict[str, str], appends: Iterable, batch: int = 500) -> tuple[int, float]:
    """The same history as Parcours imports, saved ``batch`` commands per transaction (the
    library's bulk path: ``save`` of many aggregates). Returns (events, seconds)."""
    app = Contracts(env=env)
    aggregates: dict[str, Contract] = {}
    pending: dict[str, Contract] = {}
    events, started, commands = 0, time.perf_counter(), 0
    for append in appends:
        for stream_id, _, evts in append.streams:
            for kind, data in evts:
                if kind == "contract.signed":
                    aggregates[stream_id] = Contract(data)
                else:
                    aggregates[stream_id].happen(kind, data)
                events += 1
            pending[stream_id] = aggregates[stream_id]
        commands += 1
        if commands % batch == 0:
            app.save(*pending.values())
            pending.clear()
    if pending:
        app.save(*pending.values())
    elapsed = time.perf_counter() - started
    app.close()
    return events, elapsed


def append(env: dict[str, str], writers: int, commands: int, make_data) -> float:
    """``commands`` single-event commands (a new contract signed) by ``writers`` threads; seconds."""
    app = Contracts(env={**env, "POSTGRES_POOL_SIZE": str(writers)})
    app.save(Contract(make_data(-1)))  # warm the pool and the statements
    per = commands // writers
    barrier = threading.Barrier(writers + 1)

    def work(w: int) -> None:
        barrier.wait()
        for i in range(per):
            app.save(Contract(make_data(w * per + i)))
    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


def project(env: dict[str, str], timeout: float = 3600) -> tuple[int, float]:
    """Run the projection from the start of the application's log until it has processed every
    notification; returns (events, seconds)."""
    app = Contracts(env=env)
    last = app.recorder.max_notification_id() or 0
    app.close()
    started = time.perf_counter()
    with ProjectionRunner(application_class=Contracts, projection_class=ContractViewProjection,
                          view_class=ContractView, env=env) as runner:
        runner.wait(last, timeout=timeout)
        elapsed = time.perf_counter() - started
        rows = runner.view.rows()
    if not rows:
        raise RuntimeError("the peer projection wrote nothing")
    return last, elapsed
