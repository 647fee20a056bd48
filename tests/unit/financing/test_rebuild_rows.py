"""The bulk rebuild's rows of whole paths (COPY text) are the rows the live projection stores for
the same events: same columns in the same order, NULLs, and text escaped as COPY reads it."""
import re
from dataclasses import astuple
from datetime import date

from services.financing.adapters.bulk_rebuild import paths_copy
from services.financing.application.apply_contract_events import apply_contract_events
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.paths import History

TODAY = date(2025, 6, 1)


def read_copy(text: str) -> list[tuple]:
    """COPY's text format read back: fields by tab, rows by line end, \\N as None, escapes undone."""
    unescape = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    return [tuple(None if f == "\\N" else re.sub(r"\\(.)", lambda m: unescape.get(m[1], m[1]), f)
                  for f in line.split("\t")) for line in text.split("\n")[:-1]]


def as_text(rows) -> list[tuple]:
    return sorted(tuple(None if v is None else str(v) for v in astuple(r)) for r in rows)


async def test_the_rows_of_whole_paths_are_the_live_projection_s_rows():
    h = History()
    odd, other = "c\t1\\x\n", "a\r2"   # ids with every character COPY's text format escapes
    events = [h.signed("c1", "a1"), h.accepted("c1", "a1"),
              h.signed(odd, other, siret=None, end="2025-08-31"), h.ruptured(odd, other, on="2025-01-15"),
              *h.rehire(odd, "c3", other), h.signed("c4", "a4", opco=None, signed_on="2025-03-01",
                                                     start="2025-03-03", end="2027-03-02")]
    uow = FakeUnitOfWork()
    await apply_contract_events(uow, events, TODAY)
    stored = sorted(uow.tables.events, key=lambda e: e.apprentice_id)   # by path, in arrival order
    contracts, years, advances = paths_copy([(e.apprentice_id, e.contract_id, e.sequence, e.type, e.data)
                                             for e in stored], await uow.referential.load(), TODAY)
    assert sorted(read_copy(contracts)) == as_text(uow.tables.contracts.values())
    assert sorted(read_copy(years)) == as_text(uow.tables.years)
    assert sorted(read_copy(advances)) == as_text(uow.tables.advances)
    assert {r[0] for r in read_copy(advances)} >= {odd, "c1", "c3"}
    assert any(r[3] is None for r in read_copy(contracts)) and any(r[4] is None for r in read_copy(contracts))
