"""Reference and demo data for ``make run``: demo contracts (a generated history of whole CERFA
contracts, some of them the demo keys' CFAs' and OPCOs'), the NPEC sample referential, and one key
per role written to the data directory (once)."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import text

from services.financing.adapters.npec_file import read_csv
from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from services.financing.application.import_npec_referential import import_npec_referential

from shared.auth import create_key
from shared.db import make_engine
from kernel.reference.tables import DATA_DIR
from shared.settings import REPO_ROOT, get_settings

DEMO_KEYS = [("cfa", "0751234J"), ("cfa", "0931234L"), ("opco", "ATLAS"), ("opco", "AKTO"), ("ops", "ops")]
# The demo contracts: a generated history (operations/history_generator.py) of whole CERFAs. A
# fixed seed: the same contracts and event ids on every run, so loading twice writes nothing twice.
DEMO_CONTRACTS = 40
DEMO_SEED = 2024


def _contract_ids(history: Path) -> list[str]:
    """The contracts a history file signs (the streams it starts)."""
    out = []
    for line in history.read_text(encoding="utf-8").splitlines():
        out += [s["stream"] for s in json.loads(line)["streams"] if s["expected_version"] == 0]
    return out


async def load_demo_contracts(engine) -> str:
    """The demo history imported into the contracts store (idempotent: events already there are
    skipped by their ids)."""
    from operations.history_file import write
    from operations.import_history import import_file
    from services.contracts.adapters.tables import SCHEMA

    with tempfile.TemporaryDirectory(prefix="parcours-demo-") as tmp:
        history = Path(tmp) / "demo-history.jsonl"
        write(history, DEMO_CONTRACTS, DEMO_SEED)
        ids = _contract_ids(history)
        async with engine.connect() as conn:
            there = (await conn.execute(text(f"SELECT count(DISTINCT stream_id) FROM {SCHEMA}.events "
                                             "WHERE stream_id = ANY(:ids)"), {"ids": ids})).scalar_one()
        report = await import_file(engine, history)
    loaded = len(ids) - there
    return (f"demo contracts: {loaded} loaded, {there} already there ({report.events} events written, "
            f"{report.skipped} already there)")


async def load_reference_data(engine) -> str:
    """The NPEC sample referential (idempotent: rows are keyed by applicability and file date)."""
    sample = DATA_DIR / "npec_sample"
    parsed = read_csv((sample / "referentiel_npec.csv").read_text(encoding="utf-8"),
                      (sample / "cpne_idcc.csv").read_text(encoding="utf-8"))
    async with engine.begin() as conn:
        done = await import_npec_referential(SqlUnitOfWork.joining(conn), parsed, date(2024, 7, 1), date.today())
    return f"NPEC sample referential: {done['npec_rows']} rows"


async def load_demo() -> str:
    out = Path(os.environ.get("PARCOURS_DATA_DIR", REPO_ROOT / ".data")) / "demo-keys.txt"
    engine = make_engine(get_settings(), pool_size=1)
    try:
        contracts = await load_demo_contracts(engine)
        reference = f"{contracts}; {await load_reference_data(engine)}"
    finally:
        await engine.dispose()
    if out.exists():
        return f"{reference}; demo keys already in {out}"
    engine = make_engine(get_settings(), pool_size=1)
    lines = []
    try:
        async with engine.begin() as conn:
            for role, org in DEMO_KEYS:
                _, raw = await create_key(conn, role, org, label="demo")
                lines.append(f"{role}\t{org}\t{raw}")
    finally:
        await engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.chmod(0o600)
    return f"{reference}; demo keys written to {out}"
