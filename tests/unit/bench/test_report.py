"""The benchmark's table and JSON (bench/report.py) with the CPU figures beside the old ones."""
import json

from rich.console import Console

from bench.report import Figure, cpu_lines, render, save
from shared.settings import REPO_ROOT

CPU = {"calls": 10, "seconds": 1.0, "cpus": 2, "ms_per_call": {"contracts": 2.0, "PostgreSQL": 1.0},
       "total_ms_per_call": 3.0, "ceiling_per_s": 666.7, "utilisation": 0.5, "machine_utilisation": 0.6}


def test_the_cpu_of_a_metered_stage_is_printed_under_the_table_and_kept_in_the_json(tmp_path):
    figures = [Figure("HTTP sign, 8 clients", "calls/s", 269.0, ceiling=666.7, ceiling_by="CPU: 3.0 ms a call",
                      cpu=CPU), Figure("append, 1 writer", "events/s", 900.0)]
    assert cpu_lines(figures) == ["HTTP sign, 8 clients: CPU 3.00 ms a call in all processes (contracts 2.00, "
                                  "PostgreSQL 1.00) over 10 calls; 2 CPUs serve at most 667/s; these processes "
                                  "used 50% of the CPUs, the whole machine 60%"]
    console = Console(width=300, record=True)
    render(figures, "t", console)
    text = console.export_text()
    assert "CPU: 3.0 ms a call" in text and "at most 667/s" in text
    save(figures, tmp_path / "f.json", {})
    saved = json.loads((tmp_path / "f.json").read_text())["figures"]
    assert saved[0]["cpu"] == CPU and saved[1]["cpu"] is None


def test_a_run_saved_before_the_cpu_figures_still_reads_as_figures():
    old = json.loads((REPO_ROOT / "bench" / "results" / "2026-12-02-third-make-bench.json").read_text())
    figures = [Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in old["figures"]]
    assert figures and all(f.cpu is None for f in figures) and cpu_lines(figures) == []
