"""A log that mixes versions (docs/cerfa.md, "Versions without breaking the log"): a history
written by generate-history before contract.signed v2 (tests/data/history_v1.jsonl, version 1
only) is imported, the CERFA is signed in version 2 on top through the API, and financing and
quality, fed by the topic and then rebuilt from it, give the old contracts the same figures as
before the new ones were signed; the hash chain still verifies."""
import json
from datetime import date
from pathlib import Path

from sqlalchemy import text

from shared.auth import create_key
from shared.clock import FixedClock
from tests.integration.test_rebuild import ops
from tests.support import CFA_A, Keys, cerfa_body, eventually, running

HISTORY = Path(__file__).resolve().parent.parent / "data" / "history_v1.jsonl"
SIGNED_ON_TOP = 3


async def figures(engine, old: list[str]) -> dict:
    """The old contracts' rows in both projections, without the columns that say when a row was
    written."""
    async with engine.connect() as conn:
        out = {}
        for name, sql in {
            "financing.contracts": "SELECT to_jsonb(t) - 'updated_at' FROM financing.contracts t "
                                   "WHERE contract_id = ANY(:old) ORDER BY contract_id",
            "financing.lines": "SELECT to_jsonb(t) FROM financing.lines t WHERE contract_id = ANY(:old) "
                               "ORDER BY contract_id, funding_year",
            "financing.advances": "SELECT to_jsonb(t) FROM financing.advances t WHERE contract_id = ANY(:old) "
                                  "ORDER BY contract_id, funding_year, advance",
            "quality.contract_events": "SELECT to_jsonb(t) - 'arrival' FROM quality.contract_events t "
                                       "WHERE contract_id = ANY(:old) ORDER BY event_id",
        }.items():
            out[name] = (await conn.execute(text(sql), {"old": old})).scalars().all()
    return out


async def counts(engine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        return tuple([await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in
                      ("contracts.events", "financing.contract_events", "quality.contract_events")])


async def test_a_mixed_log_rebuilds_to_the_same_figures_for_the_old_contracts(isolated):
    from services.contracts.api.app import create_app as contracts_app
    from services.financing.api.app import create_app as financing_app
    from services.quality.api.app import create_app as quality_app
    settings, engine = isolated
    imported = ops(settings, "import-history", str(HISTORY))
    assert imported.returncode == 0, imported.stderr
    async with engine.begin() as conn:
        key = (await create_key(conn, "cfa", CFA_A))[1]
        versions = dict((await conn.execute(text(
            "SELECT schema_version, count(*) FROM contracts.events WHERE type = 'contract.signed' "
            "GROUP BY schema_version"))).all())
        old = (await conn.execute(text("SELECT DISTINCT stream_id FROM contracts.events"))).scalars().all()
    assert set(versions) == {1} and len(old) == json.loads(imported.stdout)["contracts"] > 50

    async def caught_up():
        stored, financed, kept = await counts(engine)
        return stored == financed == kept

    async with running(contracts_app(settings, clock=FixedClock(date(2024, 9, 1)))) as contracts, \
            running(financing_app(settings)), running(quality_app(settings)):
        await eventually(caught_up, timeout=60, what="financing and quality to read the version 1 log")
        before = await figures(engine, old)
        assert before["financing.lines"] and before["quality.contract_events"]
        for _ in range(SIGNED_ON_TOP):
            r = await contracts.post("/v1/contracts", json=cerfa_body(), headers=Keys.header(key))
            assert r.status_code == 201, r.text
        await eventually(caught_up, timeout=60, what="financing and quality to read the version 2 signatures")
        assert await figures(engine, old) == before

    async with engine.connect() as conn:
        versions = dict((await conn.execute(text(
            "SELECT schema_version, count(*) FROM contracts.events WHERE type = 'contract.signed' "
            "GROUP BY schema_version"))).all())
        new_lines = await conn.scalar(text("SELECT count(*) FROM financing.lines WHERE NOT contract_id = ANY(:old)"),
                                      {"old": old})
    assert versions == {1: len(old), 2: SIGNED_ON_TOP} and new_lines >= SIGNED_ON_TOP
    for projection in ("financing", "quality"):
        rebuilt = ops(settings, "rebuild", projection, "--source", "kafka", "--swap")
        assert rebuilt.returncode == 0, rebuilt.stderr
    assert await figures(engine, old) == before
    chain = ops(settings, "verify-chain", "--store", "contracts")
    assert chain.returncode == 0, chain.stdout + chain.stderr
