"""The transaction of every in-memory unit of work (tests/unit/<service>/fakes.py): entering
copies the tables, leaving without commit puts them back, a unit entered again joins its outer
entry, ``commits`` counts the commits of the outermost entry. And the stored answers of
idempotent POSTs, kept in the tables' ``answers``."""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Awaitable, Callable

from shared.api.idempotency import Outcome
from shared.api.problems import Problem


class FakeTransaction:
    def __init__(self, tables):
        self.tables = tables
        self.commits, self._depth, self._found = 0, 0, None

    async def __aenter__(self):
        if self._depth == 0:
            self._found = copy.deepcopy(vars(self.tables))
        self._depth += 1
        return self

    async def __aexit__(self, *exc):
        self._depth -= 1
        if self._depth == 0 and self._found is not None:   # not committed: as it was
            vars(self.tables).update(self._found)
            self._found = None

    async def commit(self):
        if self._depth == 1:
            self.commits += 1
            self._found = None


class FakeIdempotency:
    """shared/api/idempotency.once on a dict: the key is claimed with the unit's writes."""

    def __init__(self, t: Tables):
        self.t = t

    async def once(self, key_id: str, idempotency_key: str | None, request_hash: str,
                   action: Callable[[], Awaitable[Outcome]]) -> Outcome:
        if idempotency_key is None:
            return await action()
        if not 1 <= len(idempotency_key) <= 200:
            raise Problem(422, "invalid-idempotency-key", "Invalid Idempotency-Key", "Use 1 to 200 characters.")
        stored = self.t.answers.get((key_id, idempotency_key))
        if stored is not None:
            if stored[0] != request_hash:
                raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                              "This Idempotency-Key was used with another request body.")
            return replace(stored[1], replayed=True)
        outcome = await action()
        self.t.answers[(key_id, idempotency_key)] = (request_hash, outcome)
        return outcome
