"""``parcours financing ...``: offline simulation and the NPEC referential import."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError

from kernel.collection import collection_paused
from services.financing.application.simulate import simulate
from services.financing.domain.inputs import parse_simulation_json

app = typer.Typer(no_args_is_help=True, help="Funding: simulations and the NPEC referential.")


@app.command("simulate")
def simulate_cmd(file: str = typer.Argument(..., help="a JSON file {events, referential?}, or - for stdin"),
                 today: str = typer.Option(None, help="the date advances are due against (default: today)")):
    """Compute funding for the events in FILE, offline, and print the JSON result."""
    raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    with collection_paused():   # the request freed before the collector resumes (simulate_json)
        try:
            request = parse_simulation_json(raw)
        except json.JSONDecodeError as exc:
            typer.echo(f"error: not JSON: {exc}", err=True)
            raise typer.Exit(2)
        except ValidationError as exc:
            for e in exc.errors():
                typer.echo(f"error: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}", err=True)
            raise typer.Exit(2)
        result = simulate(request, date.fromisoformat(today) if today else date.today())
        del request
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False))


@app.command("import-npec")
def import_npec(file: Path = typer.Argument(..., exists=True, help="the NPEC .xlsx, or the 'référentiel NPEC' CSV"),
                cpne_idcc: Path = typer.Option(None, exists=True, help="with a CSV: the 'CPNE-IDCC' CSV"),
                file_date: str = typer.Option(None, help="the file's date (default: today)")):
    """Load France compétences' NPEC referential and recompute the contracts it affects."""
    import asyncio

    from services.financing.adapters.npec_file import NpecFileError, read_csv, read_xlsx
    from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
    from services.financing.application.import_npec_referential import import_npec_referential
    from shared.db import make_engine
    from shared.settings import get_settings

    try:
        if file.suffix.lower() == ".xlsx":
            parsed = read_xlsx(file.read_bytes())
        else:
            if cpne_idcc is None:
                typer.echo("error: a CSV referential needs --cpne-idcc with the CPNE-IDCC sheet", err=True)
                raise typer.Exit(2)
            parsed = read_csv(file.read_text(encoding="utf-8-sig"), cpne_idcc.read_text(encoding="utf-8-sig"))
    except NpecFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    day = date.fromisoformat(file_date) if file_date else date.today()

    async def run():
        engine = make_engine(get_settings(), pool_size=1)
        try:
            return await import_npec_referential(SqlUnitOfWork(engine), parsed, day, date.today())
        finally:
            await engine.dispose()
    typer.echo(json.dumps(asyncio.run(run())))
