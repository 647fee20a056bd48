"""The quality schema's tables (SQLAlchemy Core): records, absences, the contract events received,
the dashboard's sessions. See docs/quality.md."""
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text,
                        func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "quality"
md = MetaData(schema=SCHEMA)
records = Table("records", md,
                Column("record_id", Text, primary_key=True), Column("cfa", Text, nullable=False),
                Column("kind", Text, nullable=False), Column("status", Text, nullable=False),
                Column("occurred_on", Date, nullable=False), Column("data", JSONB, nullable=False),
                Column("history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
                Column("version", Integer, nullable=False),
                Column("created_at", DateTime(timezone=True), server_default=func.now()),
                Column("updated_at", DateTime(timezone=True), server_default=func.now()))
absences = Table("absences", md,
                 Column("cfa", Text, primary_key=True), Column("erp_record_id", Text, primary_key=True),
                 Column("apprentice_id", Text, nullable=False), Column("grp", Text),
                 Column("day", Date, nullable=False), Column("hours", Numeric(5, 2), nullable=False),
                 Column("justified", Boolean, nullable=False))
contract_events = Table("contract_events", md,
                        Column("arrival", BigInteger), Column("event_id", UUID(as_uuid=False), primary_key=True),
                        Column("contract_id", Text, nullable=False), Column("cfa", Text),
                        Column("type", Text, nullable=False), Column("data", JSONB, nullable=False),
                        Column("recorded_at", DateTime(timezone=True), nullable=False))
sessions = Table("sessions", md,
                 Column("session_hash", Text, primary_key=True), Column("key_id", Text, nullable=False),
                 Column("expires_at", DateTime(timezone=True), nullable=False))
