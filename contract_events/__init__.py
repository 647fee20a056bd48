"""The published language of contract events, owned by the contracts service and read by every
other: each event's data model (``signed``, ``payloads``), the catalogue with versions and the
status each event leads to (``catalogue``), readers' lenient views (``readers``) and the fold
of a contract's events into the facts funding and quality need (``facts``). Nothing else
defines these shapes. See docs/events.md."""
