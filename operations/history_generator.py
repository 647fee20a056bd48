"""Realistic apprenticeship histories, deterministic from a seed (tests, rebuilds, benchmarks):
signatures over three years and both regimes, transmissions, decisions, deposits, amendments,
25 % ruptures of which half continue training and a third are rehired with another OPCO,
completions."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterator

OPCOS = [("1486", "ATLAS"), ("1979", "AKTO"), ("2216", "OPCOMMERCE"), ("1000", "OPCOEP")]
CFAS = ["0751234J", "0931234L", "0754321P"]


@dataclass
class Append:
    """The events one command appends (one transaction), per stream."""
    streams: list[tuple[str, int, list[tuple[str, dict[str, Any]]]]]  # (stream, expected version, events)
    partition_key: str


def _signed(rng, cid, apprentice, signed_on, idcc, opco, previous=None) -> dict:
    start = signed_on + timedelta(days=rng.randint(0, 20))
    months = rng.choice([12, 18, 24, 24, 36])
    end = start + timedelta(days=int(months * 30.4))
    return {"contract_id": cid, "apprentice": {"id": apprentice, "birth_date": "2004-05-17"},
            "employer": {"siret": "12345678200010", "idcc": idcc}, "opco": opco,
            "cfa": {"uai": rng.choice(CFAS)}, "certification": {"rncp": "RNCP35185", "level": rng.choice([4, 5, 6])},
            "signed_on": signed_on.isoformat(), "start_date": start.isoformat(),
            "planned_end_date": end.isoformat(), "contract_type": "23" if previous else "11",
            **({"previous_contract_id": previous} if previous else {})}


def generate(contracts: int, seed: int = 7) -> Iterator[Append]:
    rng = random.Random(seed)
    ids = random.Random(seed + 1)

    def uid() -> str:
        return str(uuid.UUID(int=ids.getrandbits(128)))

    first_day = date(2023, 9, 1)
    made = 0
    while made < contracts:
        apprentice = f"app-{uid()[:13]}"
        idcc, opco = rng.choice(OPCOS)
        cid = uid()
        signed_on = first_day + timedelta(days=rng.randint(0, 3 * 365))
        data = _signed(rng, cid, apprentice, signed_on, idcc, opco)
        start = date.fromisoformat(data["start_date"])
        events: list[tuple[str, dict]] = [("contract.signed", data)]
        events.append(("contract.transmitted", {"contract_id": cid, "transmitted_on": start.isoformat(), "by": "cfa"}))
        events.append(("contract.funding_accepted", {"contract_id": cid, "decided_on": start.isoformat(),
                                                     "annual_funding_level": str(rng.choice([6000, 7000, 8200]))}))
        events.append(("contract.deposited", {"contract_id": cid, "deposited_on": start.isoformat(),
                                              "deposit_number": f"D{made}"}))
        yield Append([(cid, 0, events)], apprentice)
        version, made = 4, made + 1
        roll = rng.random()
        if roll < 0.10:
            new_end = date.fromisoformat(data["planned_end_date"]) + timedelta(days=90)
            yield Append([(cid, version, [("contract.amended", {"contract_id": cid, "effective_on": start.isoformat(),
                                                                 "amendment_type": "33",
                                                                 "changes": {"planned_end_date": new_end.isoformat()}})])],
                         apprentice)
            version += 1
        if roll < 0.25:
            ruptured_on = start + timedelta(days=rng.randint(20, 300))
            continues = rng.random() < 0.5
            yield Append([(cid, version, [("contract.ruptured", {"contract_id": cid, "ruptured_on": ruptured_on.isoformat(),
                                                                  "reason": "mutual_agreement",
                                                                  "continues_training": continues})])], apprentice)
            version += 1
            if continues and rng.random() < 1 / 3 and made < contracts:
                other_idcc, other_opco = rng.choice([o for o in OPCOS if o[1] != opco])
                new = uid()
                signed2 = ruptured_on + timedelta(days=rng.randint(10, 150))
                succ = _signed(rng, new, apprentice, signed2, other_idcc, other_opco, previous=cid)
                yield Append([(new, 0, [("contract.signed", succ)]),
                              (cid, version, [("contract.rehired", {"contract_id": cid, "new_contract_id": new,
                                                                    "signed_on": signed2.isoformat(),
                                                                    "opco": other_opco})])], apprentice)
                made += 1
        elif roll > 0.6:
            yield Append([(cid, version, [("contract.completed", {"contract_id": cid, "ended_on": data["planned_end_date"],
                                                                   "diploma_obtained": True})])], apprentice)
