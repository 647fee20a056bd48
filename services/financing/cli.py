"""``parcours financing ...``: offline simulation and the NPEC referential import."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError

from services.financing.application.simulate import simulate
from services.financing.domain.inputs import parse_simulation

app = typer.Typer(no_args_is_help=True, help="Funding: simulations and the NPEC referential.")


@app.command("simulate")
def simulate_cmd(file: str = typer.Argument(..., help="a JSON file {events, referential?}, or - for stdin"),
                 today: str = typer.Option(None, help="the date advances are due against (default: today)")):
    """Compute funding for the events in FILE, offline, and print the JSON result."""
    raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        request = parse_simulation(json.loads(raw))
    except json.JSONDecodeError as exc:
        typer.echo(f"error: not JSON: {exc}", err=True)
        raise typer.Exit(2)
    except ValidationError as exc:
        for e in exc.errors():
            typer.echo(f"error: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}", err=True)
        raise typer.Exit(2)
    result = simulate(request, date.fromisoformat(today) if today else date.today())
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
