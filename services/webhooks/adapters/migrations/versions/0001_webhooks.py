"""Webhook endpoints and secrets, messages kept for delivery and replay, deliveries and attempts,
the fan-out consumer's offsets, idempotency.

Revision ID: webhooks_0001
"""
from alembic import op

from shared.api.idempotency import create_idempotency_table_sql
from shared.messaging.consumer_tables import create_consumer_tables_sql

revision = "webhooks_0001"
down_revision = None


def upgrade():
    op.execute("CREATE SCHEMA IF NOT EXISTS webhooks")
    op.execute("""
        CREATE TABLE webhooks.endpoints (
            endpoint_id uuid PRIMARY KEY,
            owner_role text NOT NULL,
            owner_org text NOT NULL,
            url text NOT NULL,
            description text NOT NULL DEFAULT '',
            event_types text[] NOT NULL,
            status text NOT NULL CHECK (status IN ('active', 'paused', 'failing')),
            failing_since timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL
        )""")
    op.execute("CREATE INDEX endpoints_by_owner ON webhooks.endpoints (owner_role, owner_org)")
    op.execute("""
        CREATE TABLE webhooks.signing_keys (
            key_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            endpoint_id uuid NOT NULL REFERENCES webhooks.endpoints ON DELETE CASCADE,
            created_at timestamptz NOT NULL,
            key bytea NOT NULL,
            expires_at timestamptz
        )""")
    op.execute("CREATE INDEX signing_keys_of_endpoint ON webhooks.signing_keys (endpoint_id)")
    op.execute("""
        CREATE TABLE webhooks.parties (
            key text PRIMARY KEY,
            cfa_uai text,
            cfa_siret text,
            opco text
        )""")
    op.execute("""
        CREATE TABLE webhooks.messages (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            message_id text NOT NULL UNIQUE,
            type text NOT NULL,
            ordering_key text NOT NULL,
            occurred_at timestamptz NOT NULL,
            cfa_uai text,
            cfa_siret text,
            opco text,
            body bytea NOT NULL
        )""")
    op.execute("CREATE INDEX messages_by_time ON webhooks.messages (occurred_at)")
    op.execute("""
        CREATE TABLE webhooks.deliveries (
            delivery_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            endpoint_id uuid NOT NULL REFERENCES webhooks.endpoints ON DELETE CASCADE,
            position bigint NOT NULL REFERENCES webhooks.messages,
            ordering_key text NOT NULL,
            replay_id bigint NOT NULL DEFAULT 0,
            status text NOT NULL CHECK (status IN ('pending', 'delivered')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            first_failed_at timestamptz,
            created_at timestamptz NOT NULL,
            delivered_at timestamptz,
            UNIQUE (endpoint_id, position, replay_id)
        )""")
    # the head of each (endpoint, key) queue, and the due ones among them
    op.execute("""CREATE INDEX deliveries_waiting ON webhooks.deliveries (endpoint_id, ordering_key, position, delivery_id)
                  WHERE status = 'pending'""")
    op.execute("CREATE INDEX deliveries_of_endpoint ON webhooks.deliveries (endpoint_id, delivery_id DESC)")
    op.execute("CREATE SEQUENCE webhooks.replays")
    op.execute("""
        CREATE TABLE webhooks.attempts (
            delivery_id bigint NOT NULL REFERENCES webhooks.deliveries ON DELETE CASCADE,
            attempt integer NOT NULL,
            attempted_at timestamptz NOT NULL,
            outcome text NOT NULL,
            status_code integer,
            latency_ms integer,
            error text,
            next_attempt_at timestamptz,
            PRIMARY KEY (delivery_id, attempt)
        )""")
    # what an endpoint's owner watches, published for the webhooks API and the CFA's quality
    # dashboard (read there by services/quality/adapters/webhook_health.py)
    op.execute("""
        CREATE VIEW webhooks.endpoint_health AS
        SELECT e.endpoint_id, e.owner_role, e.owner_org, e.url, e.description, e.status, e.failing_since,
               w.pending, w.oldest_pending_at, l.attempted_at AS last_attempt_at, l.outcome AS last_outcome
        FROM webhooks.endpoints e
        LEFT JOIN LATERAL (SELECT count(*) AS pending, min(m.occurred_at) AS oldest_pending_at
                           FROM webhooks.deliveries d JOIN webhooks.messages m USING (position)
                           WHERE d.endpoint_id = e.endpoint_id AND d.status = 'pending') w ON true
        LEFT JOIN LATERAL (SELECT a.attempted_at, a.outcome
                           FROM webhooks.deliveries d JOIN webhooks.attempts a USING (delivery_id)
                           WHERE d.endpoint_id = e.endpoint_id
                           ORDER BY d.delivery_id DESC, a.attempt DESC LIMIT 1) l ON true""")
    for sql in create_consumer_tables_sql("webhooks"):
        op.execute(sql)
    op.execute(create_idempotency_table_sql("webhooks"))
    op.execute("ALTER TABLE webhooks.idempotency_keys ALTER COLUMN body TYPE text USING body::text")


def downgrade():
    op.execute("DROP SCHEMA webhooks CASCADE")
