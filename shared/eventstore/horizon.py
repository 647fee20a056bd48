"""The settled horizon of a database's event stores: every transaction that wrote, or may still
write, an event below it has ended, so a reader in commit order that stops below it never skips
a late commit (docs/architecture.md, "Gap-free reading").

``pg_snapshot_xmin(pg_current_snapshot())`` is such a horizon, but xids are the cluster's: a long
transaction in any database of the cluster (another stack's import, a benchmark, a test) held
every store's relay and feed back until it ended. Only a transaction of this database can write
this database's events, so ``SETTLED_HORIZON`` is the oldest xid of the snapshot still in progress
*not known to belong to another database*, or the snapshot's xmax when there is none:

- the snapshot's in-progress xids (``pg_snapshot_xip``) are read from the statement's own
  snapshot, the one its scan of the events sees;
- an xid is passed over only when ``pg_stat_activity`` shows it as the xid of a session of
  another database: an xid belongs to one session for its whole life, so that cannot be wrong. An
  xid that session view does not show (it ended meanwhile, a prepared transaction, a view taken
  earlier in the transaction) holds the horizon, as before;
- xids at or above the snapshot's xmax are in progress for this snapshot and above the horizon.

``pg_stat_activity`` shows ``backend_xid`` as a 32-bit xid; the snapshot's are 64-bit (xid8):
compared modulo 2^32 (an xid8 is the epoch times 2^32 plus the xid)."""

SETTLED_HORIZON = (
    "(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot())) "
    "FROM pg_snapshot_xip(pg_current_snapshot()) AS x "
    "WHERE x::text::bigint % 4294967296 NOT IN ("
    "SELECT backend_xid::text::bigint FROM pg_stat_activity "
    "WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))")
