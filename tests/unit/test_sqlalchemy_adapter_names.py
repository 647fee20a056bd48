"""shared/db.py runs a unit's transaction on asyncpg through three private names of SQLAlchemy's
asyncpg adapter (pyproject.toml pins SQLAlchemy below 2.2 for them): this says which name went
missing, should an upgrade drop one, before the integration tests fail on it less clearly."""
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection


def _slots(cls) -> set[str]:
    return {name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())}


def test_the_adapter_still_has_the_names_shared_db_reads():
    assert callable(getattr(AsyncAdapt_asyncpg_connection, "_start_transaction", None))
    assert {"_transaction", "_connection"} <= _slots(AsyncAdapt_asyncpg_connection)
