"""The funding computation: contract events (and a referential) in, what each OPCO owes out.
Used by the simulation API, the CLI and the projection alike. Pure."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from services.financing.domain.amounts import Line, line_dict, lines_for
from contract_events.facts import ContractFacts, fold_facts
from services.financing.domain.npec import Referential, resolve
from services.financing.domain.policy import regime_of
from services.financing.domain.schedule import advances
from services.financing.domain.spans import Span, compute_spans, handover
from services.financing.domain.texts import money_text


@dataclass
class Computation:
    contracts: dict[str, ContractFacts]
    spans: list[Span]
    lines: list[Line]
    schedule: list[dict]
    npec_sources: dict[str, str]

    def totals_by_opco(self) -> dict[str, str]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            if line.amount is not None:
                totals[line.opco or "unknown"] += line.amount
        return {k: money_text(v) for k, v in sorted(totals.items())}

    def handover(self) -> dict[str, list[dict]]:
        by_apprentice: dict[str, list[Span]] = defaultdict(list)
        for s in self.spans:
            by_apprentice[s.apprentice_id].append(s)
        return {a: handover(spans) for a, spans in by_apprentice.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"lines": list(map(line_dict, self.lines)), "totals_by_opco": self.totals_by_opco(),
                "schedule": self.schedule, "spans": [s.as_dict() for s in self.spans],
                "handover": self.handover()}


def compute(events: Iterable[dict[str, Any]], referential: Referential, today: date) -> Computation:
    contracts = fold_facts(events)
    spans = compute_spans(contracts)
    lines: list[Line] = []
    schedule: list[dict] = []
    sources = {}
    for span in spans:
        c = contracts[span.contract_id]
        npec = resolve(referential, c.accepted_level, c.rncp, c.idcc, c.level, c.signed_on)
        sources[c.contract_id] = npec.source
        span_lines = lines_for(span, c, npec, contracts)
        lines += span_lines
        schedule += advances(span_lines, c, span, today)
    return Computation(contracts, spans, lines, schedule, sources)


__all__ = ["compute", "Computation", "regime_of"]
