"""The webhooks schema's tables (created by migrations/versions)."""
from __future__ import annotations

from sqlalchemy import (ARRAY, BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, Table, Text)
from sqlalchemy.dialects.postgresql import UUID

SCHEMA = "webhooks"
md = MetaData(schema=SCHEMA)
TS = DateTime(timezone=True)

endpoints = Table("endpoints", md,
                  Column("endpoint_id", UUID(as_uuid=False), primary_key=True),
                  Column("owner_role", Text), Column("owner_org", Text), Column("url", Text),
                  Column("description", Text), Column("event_types", ARRAY(Text)), Column("status", Text),
                  Column("failing_since", TS), Column("created_at", TS), Column("updated_at", TS),
                  Column("version", Integer))
signing_keys = Table("signing_keys", md,
                     Column("key_id", BigInteger, primary_key=True),
                     Column("endpoint_id", UUID(as_uuid=False)), Column("created_at", TS),
                     Column("key", LargeBinary), Column("expires_at", TS))
parties = Table("parties", md,
                Column("key", Text, primary_key=True),
                Column("cfa_uai", Text), Column("cfa_siret", Text), Column("opco", Text))
messages = Table("messages", md,
                 Column("position", BigInteger, primary_key=True),
                 Column("message_id", Text), Column("type", Text), Column("ordering_key", Text),
                 Column("occurred_at", TS), Column("cfa_uai", Text), Column("cfa_siret", Text), Column("opco", Text),
                 Column("body", LargeBinary))
deliveries = Table("deliveries", md,
                   Column("delivery_id", BigInteger, primary_key=True),
                   Column("endpoint_id", UUID(as_uuid=False)), Column("position", BigInteger),
                   Column("ordering_key", Text), Column("replay_id", BigInteger), Column("status", Text),
                   Column("attempts", Integer), Column("next_attempt_at", TS), Column("first_failed_at", TS),
                   Column("created_at", TS), Column("delivered_at", TS))
attempts = Table("attempts", md,
                 Column("delivery_id", BigInteger, primary_key=True), Column("attempt", Integer, primary_key=True),
                 Column("attempted_at", TS), Column("outcome", Text), Column("status_code", Integer),
                 Column("latency_ms", Integer), Column("error", Text), Column("next_attempt_at", TS))
