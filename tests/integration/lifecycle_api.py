"""A thin client of the contracts API for the lifecycle tests."""
from tests.support import Keys, contract_terms

H = Keys.header


class ContractsApi:
    def __init__(self, client, keys: Keys):
        self.c, self.k = client, keys

    async def sign(self, key=None, expect=201, headers=None, **over):
        r = await self.c.post("/v1/contracts", json=contract_terms(**over),
                              headers={**H(key or self.k.cfa_a), **(headers or {})})
        assert r.status_code == expect, r.text
        return r.json()

    async def command(self, cid, path, body, key, expect=200, headers=None):
        r = await self.c.post(f"/v1/contracts/{cid}/{path}", json=body, headers={**H(key), **(headers or {})})
        assert r.status_code == expect, (path, r.text)
        return r.json()

    async def get(self, cid, key=None):
        r = await self.c.get(f"/v1/contracts/{cid}", headers=H(key or self.k.ops))
        assert r.status_code == 200, r.text
        return r.json()

    async def event_types(self, cid):
        r = await self.c.get(f"/v1/contracts/{cid}/events", headers=H(self.k.ops))
        return [e["type"] for e in r.json()["events"]]

    async def transmit(self, cid, on="2024-09-30", complete_on=None, **kw):
        body = {"transmitted_on": on, "by": "cfa", **({"file_complete_on": complete_on} if complete_on else {})}
        return await self.command(cid, "transmission", body, self.k.cfa_a, **kw)

    async def accept(self, cid, key=None, level="7000.00", on="2024-10-10", **kw):
        body = {"outcome": "accepted", "decided_on": on, "annual_funding_level": level}
        return await self.command(cid, "decision", body, key or self.k.opco_x, **kw)

    async def deposit(self, cid, key=None, number="075202410000123", **kw):
        return await self.command(cid, "deposit", {"deposited_on": "2024-10-12", "deposit_number": number},
                                  key or self.k.opco_x, **kw)

    async def rupture(self, cid, on="2025-01-15", continues=True, **kw):
        body = {"ruptured_on": on, "reason": "mutual_agreement", "initiator": "both", "continues_training": continues}
        return await self.command(cid, "rupture", body, self.k.cfa_a, **kw)
