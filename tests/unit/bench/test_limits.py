"""The Python client ceilings' loops (bench/limits.py) and the services' process groups
(bench/environment.py), on fakes of the consumer and of the processes."""
import asyncio
from collections import namedtuple
from pathlib import Path

from bench.environment import Database, Services
from bench.limits import _drain, _Metered, _timed

Record = namedtuple("Record", "offset")


class FakeConsumer:
    """Batches of records per partition, the position past the last one (or past a control record)."""

    def __init__(self, batches: list[dict], positions: list[dict]):
        self.batches, self.positions, self.at = batches, positions, {}

    async def getmany(self, *parts, timeout_ms, max_records):
        batch = self.batches.pop(0) if self.batches else {}
        self.at |= self.positions.pop(0) if self.positions else {}
        return {tp: [Record(o) for o in offsets] for tp, offsets in batch.items() if tp in parts}

    async def position(self, tp):
        return self.at[tp]


def test_the_topic_is_read_up_to_the_end_offsets_of_the_start_whatever_comes_after():
    consumer = FakeConsumer([{"p0": [0, 1, 2], "p1": [0]}, {"p1": [1, 2, 3]}],
                            [{"p0": 3, "p1": 1}, {"p1": 4}])
    assert asyncio.run(_drain(consumer, {"p0": 3, "p1": 3}, {"p0", "p1"}, 5000)) == 6   # p1's offset 3 came later


def test_a_control_record_at_the_end_does_not_keep_the_read_waiting():
    consumer = FakeConsumer([{"p0": [0, 1]}], [{"p0": 3}])   # offset 2: a transaction marker, no record
    assert asyncio.run(_drain(consumer, {"p0": 3}, {"p0"}, 5000)) == 2


def test_a_timed_read_gives_its_rate_and_the_clients_cpu_per_item():
    async def work():
        sum(range(200_000))   # some CPU of this process
        return 1000
    out = asyncio.run(_timed(None, "rows", work))
    assert out["rows"] == 1000 and out["rate"] == 1000 / out["seconds"] and out["client_us"] > 0
    assert "cpu" not in out


class BusyConnection:
    async def fetch(self, *args):
        sum(range(200_000))   # the driver's CPU
        return list(args)


def test_a_metered_connection_counts_the_cpu_of_its_fetches_alone():
    conn = _Metered(BusyConnection())
    assert asyncio.run(conn.fetch("SELECT", 1)) == ["SELECT", 1] and conn.cpu > 0
    spent = conn.cpu
    sum(range(200_000))   # the caller's CPU, not the driver's
    assert conn.cpu == spent


class FakeProcess:
    def __init__(self, pid):
        self.pid = pid


def test_the_services_processes_by_service_the_projection_workers_with_financing():
    services = Services(Database("postgresql+asyncpg://u@h/db"), "p.", Path("/tmp"))
    contracts, financing, worker = FakeProcess(10), FakeProcess(11), FakeProcess(12)   # 13: stopped
    services.procs = [contracts, financing, worker]
    services.groups = {10: "contracts", 11: "financing", 12: "financing", 13: "financing"}
    assert services.processes() == {"contracts": [10], "financing": [11, 12]}
