"""The transaction of every in-memory unit of work (tests/unit/<service>/fakes.py): entering
copies the tables, leaving without commit puts them back, a unit entered again joins its outer
entry, ``commits`` counts the commits of the outermost entry."""
from __future__ import annotations

import copy


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
