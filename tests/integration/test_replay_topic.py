"""A time slice of contracts.events copied to files with the offsets it covered."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from tests.integration.lifecycle_api import ContractsApi
from tests.support import eventually


async def test_replay_a_slice_of_the_topic(contracts, keys, settings, tmp_path):
    api = ContractsApi(contracts, keys)
    start = datetime.now(timezone.utc) - timedelta(milliseconds=5)
    ids = [(await api.sign(apprentice={"id": f"app-replay-{i}", "birth_date": "2005-03-14"}))["contract_id"]
           for i in range(3)]

    async def published():
        return await contracts.app.state.relay.backlog() == 0
    await eventually(published, what="the relay to publish")
    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    env = {**os.environ, "PARCOURS_DATABASE_URL": settings.database_url, "PARCOURS_TOPIC_PREFIX": settings.topic_prefix}
    out = subprocess.run([sys.executable, "-m", "operations.cli", "ops", "replay-topic", "--topic", "contracts.events",
                          "--from-time", start.isoformat(), "--to-time", end.isoformat(), "--into", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "offsets.json").read_text())
    records = [json.loads(l) for p in summary["partitions"].values()
               for l in (tmp_path / p["file"]).read_text().splitlines()]
    subjects = {r["value"]["subject"] for r in records}
    assert set(ids) <= subjects
    for p in summary["partitions"].values():
        assert p["to_offset"] - p["from_offset"] == p["records"]
    for r in records:
        assert start.timestamp() * 1000 - 1000 <= r["timestamp"] <= end.timestamp() * 1000
    bad = subprocess.run([sys.executable, "-m", "operations.cli", "ops", "replay-topic", "--topic", "contracts.events",
                          "--from-time", end.isoformat(), "--to-time", start.isoformat(), "--into", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
