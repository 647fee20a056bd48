"""The trial's load: contracts signed at a steady rate, each with its own Idempotency-Key, then
a few lifecycle acts (transmission, the OPCO's acceptance, a cancellation before the start).
Every call is retried with the same key and body on a connection error, a timeout, a 5xx, a 429
or a concurrent update, until acknowledged or its deadline: a command is *acknowledged* when a
2xx came back, and only then is it recorded for the checks (chaos/checks.py)."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx

RETRIED_STATUSES = {429, 500, 502, 503, 504}
ACTS = {  # the acts after the signature, by contract number modulo 4
    0: (), 1: ("transmission",), 2: ("transmission", "decision"), 3: ("transmission", "cancellation")}
EVENT_OF = {"sign": "contract.signed", "transmission": "contract.transmitted",
            "decision": "contract.funding_accepted", "cancellation": "contract.cancelled"}


@dataclass(frozen=True)
class Acknowledged:
    """A command the API acknowledged (2xx), with what it must have recorded."""
    key: str             # its Idempotency-Key
    kind: str            # sign, transmission, decision or cancellation
    contract_id: str
    apprentice_id: str   # unique per signature: one contract.signed per apprentice, exactly
    attempts: int = 1
    replayed: bool = False

    @property
    def event_type(self) -> str:
        return EVENT_OF[self.kind]


@dataclass
class Refused:
    key: str
    kind: str
    status: int
    body: str


@dataclass
class LoadFigures:
    started: int = 0
    acknowledged: list[Acknowledged] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)    # a non-retried 4xx: unexpected
    gave_up: list[str] = field(default_factory=list)        # keys still unacknowledged at the deadline
    retries: int = 0
    ack_times: list[float] = field(default_factory=list)    # time.monotonic() of each acknowledgement

    def acks_since(self, moment: float) -> int:
        return sum(1 for t in self.ack_times if t >= moment)


class Load:
    def __init__(self, urls: dict[str, str], keys: dict[str, str], run: str, *, rate: float = 6.0,
                 contracts: int = 10_000, concurrency: int = 32, deadline: float = 180.0, timeout: float = 10.0):
        self.urls, self.keys, self.run_id = urls, keys, run
        self.rate, self.max_contracts, self.deadline, self.timeout = rate, contracts, deadline, timeout
        self.slots = asyncio.Semaphore(concurrency)
        self.figures = LoadFigures()
        today = datetime.now(timezone.utc).date()
        # dates ahead: no deadline of the scheduler falls due during the trial, a cancellation is legal
        self.today, self.start = today, today + timedelta(days=40)

    def terms(self, apprentice_id: str) -> dict:
        return {"apprentice": {"id": apprentice_id, "birth_date": "2005-03-14"},
                "employer": {"siret": "12345678200010", "idcc": "1486"},
                "cfa": {"uai": "0751234J", "siret": "98765432400019"},
                "certification": {"rncp": "RNCP35185", "level": 5},
                "signed_on": self.today.isoformat(), "start_date": self.start.isoformat(),
                "planned_end_date": (self.start + timedelta(days=540)).isoformat(), "contract_type": "11"}

    def act(self, kind: str) -> tuple[str, dict]:
        on = self.today.isoformat()
        if kind == "transmission":
            return "cfa", {"transmitted_on": on, "by": "cfa", "file_complete_on": on}
        if kind == "decision":
            return "opco", {"outcome": "accepted", "decided_on": on, "annual_funding_level": "7000.00"}
        return "cfa", {"cancelled_on": on, "motive": "The apprentice withdrew before the start (fault trial)."}

    async def run(self, stop: asyncio.Event) -> LoadFigures:
        """Start contracts at ``rate`` per second until ``stop`` (or ``contracts`` started), then
        wait for every started one to be acknowledged or to pass its deadline."""
        tasks: list[asyncio.Task] = []
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            began = time.monotonic()
            n = 0
            while not stop.is_set() and n < self.max_contracts:
                wait = began + n / self.rate - time.monotonic()
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                        break
                    except asyncio.TimeoutError:
                        pass
                await self.slots.acquire()
                tasks.append(asyncio.create_task(self.contract(client, n)))
                n += 1
            self.figures.started = n
            await asyncio.gather(*tasks)
        return self.figures

    async def contract(self, client: httpx.AsyncClient, n: int) -> None:
        try:
            apprentice = f"chaos-{self.run_id}-{n}"
            key = f"{self.run_id}-{n}-sign"
            body = await self.send(client, "sign", key, "/v1/contracts", self.keys["cfa"], self.terms(apprentice))
            if body is None:
                return
            cid = body["contract_id"]
            self.ack(body, "sign", key, cid, apprentice)
            for kind in ACTS[n % 4]:
                role, payload = self.act(kind)
                key = f"{self.run_id}-{n}-{kind}"
                body = await self.send(client, kind, key, f"/v1/contracts/{cid}/{kind}", self.keys[role], payload)
                if body is None:
                    return
                self.ack(body, kind, key, cid, apprentice)
        finally:
            self.slots.release()

    def ack(self, body: dict, kind: str, key: str, cid: str, apprentice: str) -> None:
        self.figures.acknowledged.append(Acknowledged(key, kind, cid, apprentice, body["_attempts"], body["_replayed"]))
        self.figures.ack_times.append(time.monotonic())

    async def send(self, client: httpx.AsyncClient, kind: str, key: str, path: str, api_key: str,
                   payload: dict) -> dict | None:
        """POST until a 2xx (its JSON body, with the attempts), a refusal or the deadline (None)."""
        headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key}
        end = time.monotonic() + self.deadline
        attempt = 0
        while True:
            attempt += 1
            pause = min(1.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.0)
            try:
                r = await client.post(self.urls["contracts"] + path, json=payload, headers=headers)
                if r.is_success:
                    return {**r.json(), "_attempts": attempt, "_replayed": r.headers.get("Idempotent-Replayed") == "true"}
                if r.status_code not in RETRIED_STATUSES and not _concurrent_update(r):
                    self.figures.refused.append(Refused(key, kind, r.status_code, r.text[:500]))
                    return None
                after = r.headers.get("Retry-After", "")
                pause = max(pause, min(float(after), 2.0)) if after.isdigit() else pause
            except httpx.TransportError:
                pass
            if time.monotonic() + pause > end:
                self.figures.gave_up.append(key)
                return None
            self.figures.retries += 1
            await asyncio.sleep(pause)


def _concurrent_update(r: httpx.Response) -> bool:
    return r.status_code == 409 and "concurrent-update" in r.text

