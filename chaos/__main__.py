"""`make chaos` (`python -m chaos`): the fault trial on a stack of its own; prints one table and
exits 1 on any loss, double, DLQ record, failed verification, webhook missing or out of order,
or unrecovered kill (docs/fault_trial.md)."""
from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console

from chaos.own_stack import CHAOS_DATA
from chaos.report import details, save, table
from chaos.trial import run_trial

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(kills: int = typer.Option(14, min=1, help="kill -9 this many times, cycling contracts, financing, "
                                                   "quality, webhooks, financing-worker-1, kafka, postgres"),
         rate: float = typer.Option(6.0, min=0.1, help="contracts signed per second"),
         contracts: int = typer.Option(10_000, min=1, help="stop the load after this many contracts"),
         down: float = typer.Option(1.0, min=0, help="seconds a killed component stays down before its restart"),
         between: int = typer.Option(10, min=1, help="commands acknowledged after each recovery before the next kill"),
         json_path: Path = typer.Option(None, "--json", help="also write the result as JSON"),
         keep: bool = typer.Option(False, help="keep the trial's data directory (logs, cluster, topics)")):
    console = Console(stderr=True)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)   # a broker down is the point, not news

    def note(message: str) -> None:
        console.print(f"[dim]{datetime.now():%H:%M:%S}[/dim] {message}")

    logs = CHAOS_DATA.parent / "test-artifacts" / f"chaos-{datetime.now():%Y%m%dT%H%M%S}"

    async def trial():
        # SIGTERM or SIGHUP cancel the trial like Ctrl-C: its stack is still stopped and removed
        task, loop = asyncio.current_task(), asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, task.cancel)
        return await run_trial(kills, rate=rate, contracts=contracts, down=down, between=between,
                               keep=keep, logs_into=logs, note=note)
    try:
        result = asyncio.run(trial())
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("interrupted: the trial's stack was stopped")
        raise typer.Exit(130)
    Console(width=110).print(table(result))
    for line in details(result):
        console.print(line, markup=False)
    if json_path:
        save(result, json_path)
    raise typer.Exit(0 if result.ok else 1)


if __name__ == "__main__":
    app()
