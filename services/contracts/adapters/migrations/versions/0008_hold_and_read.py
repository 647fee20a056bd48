"""The sign's hold-then-read in one round trip: hold the apprentice (or the masters) with a
transaction-level advisory lock, then read their live contracts. In a VOLATILE plpgsql function
each statement takes a fresh snapshot (at READ COMMITTED), so the read after the lock sees what a
competitor that held it committed: the two statements of contract_listing.py before, one call now.

Revision ID: contracts_0008
"""
from alembic import op

revision = "contracts_0008"
down_revision = "contracts_0007"


def upgrade():
    op.execute("""
        CREATE FUNCTION contracts.live_for_apprentice(p_apprentice_id text, p_not_live text[])
        RETURNS SETOF contracts.contracts
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          PERFORM pg_advisory_xact_lock(hashtext('contracts.apprentices'), hashtext(p_apprentice_id));
          RETURN QUERY
            SELECT * FROM contracts.contracts c
             WHERE c.apprentice_id = p_apprentice_id AND c.status <> ALL(p_not_live)
             ORDER BY c.start_date, c.contract_id;
        END $$""")
    op.execute("""
        CREATE FUNCTION contracts.live_for_masters(p_ids text[], p_patterns jsonb[], p_not_live text[])
        RETURNS TABLE (contract_id text, state jsonb)
        LANGUAGE plpgsql VOLATILE AS $$
        #variable_conflict use_column
        BEGIN
          PERFORM count(pg_advisory_xact_lock(hashtext('contracts.masters'), hashtext(m)))
             FROM (SELECT m FROM unnest(p_ids) AS m ORDER BY m) AS ordered;
          RETURN QUERY
            SELECT c.contract_id, c.state FROM contracts.contracts c
             WHERE (c.state -> 'terms' -> 'masters') @> ANY(p_patterns) AND c.status <> ALL(p_not_live)
             ORDER BY c.start_date, c.contract_id;
        END $$""")


def downgrade():
    op.execute("DROP FUNCTION contracts.live_for_masters(text[], jsonb[], text[])")
    op.execute("DROP FUNCTION contracts.live_for_apprentice(text, text[])")
