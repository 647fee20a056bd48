"""Importing the NPEC referential against in-memory ports: rows kept by applicability and file
date, the paths it affects recomputed, the others left alone."""
from datetime import date
from decimal import Decimal
from pathlib import Path

from services.financing.adapters.npec_file import read_csv
from services.financing.application.apply_contract_events import apply_contract_events
from services.financing.application.import_npec_referential import import_npec_referential
from services.financing.domain.npec import NpecFile
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.paths import History

SAMPLE = Path(__file__).resolve().parents[3] / "kernel" / "reference" / "npec_sample"
TODAY = date(2025, 6, 1)


def sample() -> NpecFile:
    return read_csv((SAMPLE / "referentiel_npec.csv").read_text(), (SAMPLE / "cpne_idcc.csv").read_text())


async def projected() -> FakeUnitOfWork:
    """Two paths at the valeur d'amorçage: RNCP35185 with IDCC 2216 (CPNE 88), and an RNCP the
    sample does not list."""
    uow, h = FakeUnitOfWork(), History()
    dates = {"signed_on": "2024-09-20", "start": "2024-09-28", "end": "2025-09-27"}
    await apply_contract_events(uow, [h.signed("c1", "a1", idcc="2216", **dates),
                                      h.signed("c2", "a2", rncp="RNCP99999", **dates)], TODAY)
    return uow


def year_one(uow, cid):
    return next(y for y in uow.tables.years if y.contract_id == cid)


async def test_the_referential_is_stored_and_the_paths_it_affects_recomputed():
    uow = await projected()
    assert year_one(uow, "c1").npec_source == "seed_value"
    before = year_one(uow, "c2")
    done = await import_npec_referential(uow, sample(), date(2024, 7, 1), TODAY)
    assert done == {"npec_rows": 9, "cpne_idcc_rows": 5, "recomputed_paths": 1, "referential_rows": 9}
    assert uow.commits == 2   # the batch projected, the import
    c1 = year_one(uow, "c1")
    assert (c1.npec_source, c1.amount) == ("referential", Decimal("7200.00"))   # applicable on the signature
    assert year_one(uow, "c2") == before
    assert {r["file_date"] for r in uow.tables.npec.values()} == {date(2024, 7, 1)}


async def test_a_later_file_adds_rows_and_links_are_kept_once():
    uow = await projected()
    await import_npec_referential(uow, sample(), date(2024, 7, 1), TODAY)
    twice = NpecFile(sample().npec[:1], sample().cpne_idcc * 2)
    done = await import_npec_referential(uow, twice, date(2025, 1, 1), TODAY)
    assert (done["npec_rows"], done["cpne_idcc_rows"], done["referential_rows"]) == (1, 5, 10)
    assert {l["file_date"] for l in uow.tables.links.values()} == {date(2025, 1, 1)}
