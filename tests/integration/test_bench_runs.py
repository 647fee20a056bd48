"""`make bench` end to end at a toy size: every stage produces a figure, the peer runs beside
Parcours, the ceilings are measured, and the run leaves no database behind. Timings are never
asserted (the benchmark prints them; tests cannot judge a noisy machine)."""
import json
import subprocess
import sys

from sqlalchemy import text

from shared.settings import REPO_ROOT


async def test_the_benchmark_runs_every_stage_beside_the_peer_and_cleans_up(engine, tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "bench.run", "--contracts", "150", "--append-commands", "40",
                           "--writers", "1,4", "--http-commands", "20", "--live-rate", "20", "--live-seconds", "1",
                           "--simulations", "30", "--money-invoices", "24", "--money-cfas", "3",
                           "--money-clients", "4", "--rebuild-workers", "1,2", "--financing-workers", "1,2",
                           "--json", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    figures = {f["stage"]: f for f in report["figures"]}
    assert "Parcours/peer" in done.stdout and "bulk import of the history" in done.stdout

    for stage in ("bulk import of the history", "rebuild financing from Kafka, 1 process",
                  "rebuild financing from Kafka, 2 processes", "append, 4 writers"):
        f = figures[stage]
        assert f["parcours"] > 0 and f["peer"] > 0 and f["ceiling"] > 0
        assert abs(f["ratio"] - f["parcours"] / f["peer"]) < 1e-9
    assert "chain verified" in figures["bulk import of the history"]["detail"]   # the imported log chains
    assert figures["relay, store to Kafka"]["ceiling"] > 0  # Kafka's own producer tool ran
    for processes in ("1 process", "2 processes"):
        assert figures[f"rebuild financing from the feed, {processes}"]["ceiling"] > 0
        assert "MiB" in figures[f"rebuild financing from the feed, {processes}"]["detail"]   # its peak memory
    assert all(figures[f"HTTP sign, {n} client{'s' if n > 1 else ''}"]["parcours"] > 0 for n in (1, 4))
    for processes in ("1 financing process", "2 financing processes"):
        live = figures[f"HTTP sign latency p99, {processes}"]
        assert live["parcours"] > 0 and not live["higher_is_better"] and live["target"] == "p99 < 20 ms"
        assert live["met"] is (live["parcours"] < 20)  # the verdict follows the figure, whatever it is
        seen = figures[f"command to projection p50, {processes}"]["detail"]
        assert processes in seen and "never visible" not in seen  # every sign reached financing
    assert figures["simulate 30 paths"]["parcours"] > 0
    stages = [f["stage"] for f in report["figures"]]
    money = [f"HTTP {what}, 4 clients, {cfas}" for cfas in ("1 CFA", "3 CFAs")
             for what in ("invoice issue", "invoice acceptance", "payment")]
    assert stages[stages.index("HTTP sign, 4 clients") + 1:][:6] == money  # beside the sign stage
    for stage in money:  # every invoice issued, accepted and paid: no error in brackets
        f = figures[stage]
        assert f["parcours"] > 0 and f["peer"] is None and f["detail"].startswith("24 calls, p50 ")
        assert 0 < f["latency_ms"]["p50"] <= f["latency_ms"]["p99"]

    async with engine.connect() as conn:
        left = await conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = ANY(:names)"),
                                 {"names": report["meta"]["databases"]})
    assert len(report["meta"]["databases"]) == 2 and left == 0
