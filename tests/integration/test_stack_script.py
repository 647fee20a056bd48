"""deploy/stack.sh keeps the evidence of a crash (logs appended across restarts, rotated with a
timestamp, a bounded number kept) and checks PostgreSQL as a role that exists."""
import asyncio
import os
import signal
import subprocess
from pathlib import Path

from tests.served import ROOT, STACK
from tests.support import eventually

STARTED = '"event": "service.started"'


def stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(STACK), *args], env=env or os.environ.copy(), capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


async def _gone(pid: int) -> bool:
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


async def test_a_killed_service_restarted_by_the_script_keeps_its_previous_log(served):
    pid_file = served.data_dir / "run" / "quality.pid"
    before = served.log("quality")
    assert before.count(STARTED) == 1
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGKILL)
    await eventually(lambda: _gone(pid), what="the killed service to be gone")
    restarted = await asyncio.to_thread(stack, "services", env=served.env)
    assert restarted.returncode == 0, restarted.stderr
    after = served.log("quality")
    assert after.startswith(before) and after.count(STARTED) == 2


def test_a_log_past_its_size_is_moved_aside_with_a_timestamp_and_few_are_kept(tmp_path):
    env = {**os.environ, "PARCOURS_DATA_DIR": str(tmp_path), "PARCOURS_LOG_MAX_BYTES": "10", "PARCOURS_LOG_KEEP": "3"}
    log = tmp_path / "log" / "contracts.log"
    for n in range(6):
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(log.read_text() + f"run {n} " * 5 if log.exists() else f"run {n} " * 5)
        done = stack("log_file", "contracts", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == str(log)
    kept = sorted(p.name for p in log.parent.glob("contracts.*.log"))
    assert len(kept) == 3 and not log.exists()
    assert all(name[len("contracts."):-len(".log")].replace("T", "").isdigit() for name in kept)


def test_checking_postgresql_logs_no_fatal_for_an_unknown_role():
    data_dir = Path(stack("pg_data_dir").stdout.strip())
    server_log = data_dir / "server.log"
    fatal = 'role "root" does not exist'
    count = server_log.read_text(errors="replace").count(fatal) if server_log.exists() else 0
    assert stack("start_postgres").returncode == 0
    assert stack("pg_ready").returncode == 0
    after = server_log.read_text(errors="replace").count(fatal) if server_log.exists() else 0
    assert after == count


def _group(pgid: int) -> set[int]:
    """The live processes of a process group."""
    out = set()
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":   # the pgid, not a zombie
            out.add(int(status.parent.name))
    return out


def _requests_counted(metrics, route: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families
    assert metrics.status_code == 200
    return sum(sample.value for family in text_string_to_metric_families(metrics.text)
               for sample in family.samples
               if sample.name == "parcours_http_request_seconds_count" and sample.labels.get("route") == route)


async def test_services_with_several_http_workers_serve_and_stop_with_every_worker(tmp_path):
    """PARCOURS_HTTP_WORKERS=2: uvicorn forks two workers per service, which share the per-key
    rate limiter (docs/api.md); stopping the stack stops every one of them, not only the parent."""
    import httpx

    from tests.served import served_stack
    async with served_stack(tmp_path / "data", PARCOURS_HTTP_WORKERS="2") as stack:
        pid = int((stack.data_dir / "run" / "contracts.pid").read_text())
        group = _group(pid)
        assert pid in group and len(group) >= 3   # the parent and its two workers
        # a connection per call (Connection: close), so that the calls spread over both workers
        async with httpx.AsyncClient(base_url=stack.urls["contracts"], headers={"Connection": "close"}) as client:
            answers = [await client.get("/v1/contracts", headers={"Authorization": f"Bearer {stack.keys.cfa_a}"})
                       for _ in range(12)]
            assert {r.status_code for r in answers} == {200}
            # /metrics counts every worker's calls whichever worker answers it (before, each worker
            # counted only its own share of the twelve); a worker records a call just after its answer
            async def all_counted() -> bool:
                return _requests_counted(await client.get("/metrics"), "/v1/contracts") == 12
            await eventually(all_counted, what="the twelve calls in /metrics")
            for _ in range(4):
                assert _requests_counted(await client.get("/metrics"), "/v1/contracts") == 12

    async def stopped() -> bool:
        return not _group(pid)
    await eventually(stopped, what="every process of the service to stop")
