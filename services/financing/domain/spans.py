"""Funded spans and OPCO handover (docs/financing.md section 4), for the contracts of one or more
paths. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from contract_events.facts import ContractFacts
from kernel.legal import POST_RUPTURE_MONTHS
from services.financing.domain.policy import PRE_CONTRACT_MONTHS
from services.financing.domain.records import quick_init
from services.financing.domain.texts import iso_text
from kernel.months import add_months

DAY = timedelta(days=1)


@quick_init
@dataclass(frozen=True)
class Span:
    contract_id: str
    apprentice_id: str
    opco: str | None
    start: date
    end: date
    start_reason: str   # contract_start, pre_contract_training, successor_signature
    end_reason: str     # planned_end, completed, rupture, post_rupture_limit, successor_signed, post_rupture_training_ended
    status: str         # funded, refused
    order: int

    def as_dict(self) -> dict:
        return {"contract_id": self.contract_id, "apprentice_id": self.apprentice_id, "opco": self.opco,
                "start": iso_text[self.start], "end": iso_text[self.end], "start_reason": self.start_reason,
                "end_reason": self.end_reason, "status": self.status}


def post_rupture_limit(f: ContractFacts) -> date | None:
    """Last day of post-rupture training judged from this contract alone (no successor)."""
    if f.ruptured_on is None or not f.continues_training:
        return None
    limit = add_months(f.ruptured_on, POST_RUPTURE_MONTHS) - DAY
    if f.post_rupture_ended_on is not None:
        limit = min(limit, f.post_rupture_ended_on)
    return max(limit, f.ruptured_on)


def span_start(c: ContractFacts, contracts: dict[str, ContractFacts]) -> tuple[date, str]:
    previous = contracts.get(c.previous_contract_id or "")
    if previous is not None:
        limit = post_rupture_limit(previous)
        if limit is not None and previous.ruptured_on < c.signed_on <= limit:
            return c.signed_on, "successor_signature"
    if c.training_started_on is not None and c.training_started_on < c.start_date:
        earliest = add_months(c.start_date, -PRE_CONTRACT_MONTHS)
        return max(c.training_started_on, earliest), "pre_contract_training"
    return c.start_date, "contract_start"


def span_end(c: ContractFacts) -> tuple[date, str]:
    if c.ruptured_on is not None:
        r = c.ruptured_on
        if not c.continues_training and c.post_rupture_ended_on is None:
            return r, "rupture"
        options = [(add_months(r, POST_RUPTURE_MONTHS) - DAY, "post_rupture_limit")]
        if c.successor_signed_on is not None:
            options.append((c.successor_signed_on - DAY, "successor_signed"))
        if c.post_rupture_ended_on is not None:
            options.append((c.post_rupture_ended_on, "post_rupture_training_ended"))
        end, reason = min(options)
        return (end, reason) if end >= r else (r, "rupture")
    if c.completed_on is not None:
        return c.completed_on, "completed"
    return c.planned_end_date, "planned_end"


def compute_spans(contracts: dict[str, ContractFacts]) -> list[Span]:
    out = []
    for c in contracts.values():
        if c.cancelled:
            continue
        (start, sr), (end, er) = span_start(c, contracts), span_end(c)
        if end < start:
            end = start
        out.append(Span(c.contract_id, c.apprentice_id, c.opco, start, end, sr, er,
                        "refused" if c.refused else "funded", c.order))
    return sorted(out, key=lambda s: (s.apprentice_id, s.start, s.order))


def handover(spans: list[Span]) -> list[dict]:
    """Which OPCO is responsible for an apprentice from when to when: the span containing the date,
    the later span from its first day where two overlap."""
    out: list[dict] = []
    ordered = sorted(spans, key=lambda s: (s.start, s.order))
    for i, s in enumerate(ordered):
        until = s.end
        if i + 1 < len(ordered) and ordered[i + 1].start <= s.end:
            until = ordered[i + 1].start - DAY
        if until < s.start:
            continue
        out.append({"opco": s.opco, "contract_id": s.contract_id, "from": iso_text[s.start],
                    "to": iso_text[until], "reason": HANDOVER_REASONS[s.start_reason], "status": s.status})
    return out


HANDOVER_REASONS = {"successor_signature": "rehired after a rupture: the new OPCO funds from the signature",
                    "pre_contract_training": f"training started before the contract (at most {PRE_CONTRACT_MONTHS} months)",
                    "contract_start": "contract start"}


def responsible_on(spans: list[Span], day: date) -> Span | None:
    """The span whose OPCO is responsible on ``day`` (for frais annexes)."""
    containing = [s for s in spans if s.start <= day <= s.end]
    return max(containing, key=lambda s: (s.start, s.order)) if containing else None
