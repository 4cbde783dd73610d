"""Every table scoped by workspace: reps keyed by (team, user), channels by (team, channel); deliveries,
proposals, CRM links and CRM state carry a non-null team id in their keys; workspaces get their Grid org

Existing rows keep their team: a row whose team was never filled in ("") takes it from its rep (deals,
proposals, digests), its channel (boards, kudos) or its deal (CRM links); what is still unknown after that
takes the database's one workspace when it has exactly one (a single-token install), else stays "".

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TEAM = sa.String(length=32)
# The tables that get a team column here (the others had one already: reps, deals, channels).
NEW = ('deliveries', 'proposals', 'crm_links', 'crm_state')


def upgrade() -> None:
    for name in NEW:
        with op.batch_alter_table(name) as b:
            b.add_column(sa.Column('team_id', TEAM, nullable=True))
    _backfill()
    for name in NEW:
        with op.batch_alter_table(name) as b:
            b.alter_column('team_id', existing_type=TEAM, nullable=False)
    with op.batch_alter_table('workspaces') as b:
        b.add_column(sa.Column('enterprise_id', TEAM, nullable=True))
        b.create_index('ix_workspaces_enterprise_id', ['enterprise_id'], unique=False)
    _primary_key('reps', ['team_id', 'user_id'])
    _primary_key('channels', ['team_id', 'id'])
    _primary_key('crm_state', ['team_id', 'key'])
    with op.batch_alter_table('deliveries') as b:
        b.drop_constraint('uq_deliveries_key', type_='unique')
        b.create_unique_constraint('uq_deliveries_key', ['team_id', 'kind', 'target', 'period'])
    with op.batch_alter_table('crm_links') as b:
        b.drop_constraint('uq_crm_links_key', type_='unique')
        b.create_unique_constraint('uq_crm_links_key', ['team_id', 'system', 'external_id'])
    with op.batch_alter_table('proposals') as b:
        b.drop_index('ix_proposals_user_id')
        b.create_index('ix_proposals_team_user', ['team_id', 'user_id'], unique=False)
    _deal_indexes(team=True)


def downgrade() -> None:
    """Back to keys without the team: fails (unique violation) once two workspaces share a user or channel
    id, rather than merging them."""
    _deal_indexes(team=False)
    with op.batch_alter_table('proposals') as b:
        b.drop_index('ix_proposals_team_user')
        b.create_index('ix_proposals_user_id', ['user_id'], unique=False)
    with op.batch_alter_table('crm_links') as b:
        b.drop_constraint('uq_crm_links_key', type_='unique')
        b.create_unique_constraint('uq_crm_links_key', ['system', 'external_id'])
    with op.batch_alter_table('deliveries') as b:
        b.drop_constraint('uq_deliveries_key', type_='unique')
        b.create_unique_constraint('uq_deliveries_key', ['kind', 'target', 'period'])
    _primary_key('crm_state', ['key'])
    _primary_key('channels', ['id'])
    _primary_key('reps', ['user_id'])
    with op.batch_alter_table('workspaces') as b:
        b.drop_index('ix_workspaces_enterprise_id')
        b.drop_column('enterprise_id')
    for name in reversed(NEW):
        with op.batch_alter_table(name) as b:
            b.drop_column('team_id')


def _primary_key(table: str, columns: list[str]) -> None:
    with op.batch_alter_table(table, recreate='always' if op.get_bind().dialect.name == 'sqlite' else 'auto') as b:
        b.drop_constraint(f'pk_{table}', type_='primary')
        b.create_primary_key(f'pk_{table}', columns)


def _deal_indexes(team: bool) -> None:
    where = sa.text('amount IS NOT NULL')
    old = [('ix_deals_owner_status', ['owner_id', 'status'], {}),
           ('ix_deals_owner_amount', ['owner_id', 'currency', 'amount'],
            {'postgresql_where': where, 'sqlite_where': where})]
    new = [('ix_deals_team_owner_status', ['team_id', 'owner_id', 'status'], {}),
           ('ix_deals_team_owner_amount', ['team_id', 'owner_id', 'currency', 'amount'],
            {'postgresql_where': where, 'sqlite_where': where})]
    drop, make = (old, new) if team else (new, old)
    for name, _, _ in drop:
        op.drop_index(name, table_name='deals')
    for name, columns, kw in make:
        op.create_index(name, 'deals', columns, unique=False, **kw)


def _backfill() -> None:
    """Fill in the team of every row that has none, from what it belongs to (see the module's docstring)."""
    bind = op.get_bind()
    teams = {t for (t,) in bind.execute(sa.text(
        "SELECT team_id FROM reps UNION SELECT team_id FROM channels UNION SELECT team_id FROM deals "
        "UNION SELECT team_id FROM workspaces")) if t}
    only = teams.pop() if len(teams) == 1 else None
    unset = "(team_id IS NULL OR team_id = '')"
    rep_team = "(SELECT r.team_id FROM reps r WHERE r.user_id = {} AND r.team_id <> '')"
    steps = [
        f"UPDATE deals SET team_id = {rep_team.format('deals.owner_id')} "
        f"WHERE team_id = '' AND EXISTS {rep_team.format('deals.owner_id')}",
        f"UPDATE proposals SET team_id = {rep_team.format('proposals.user_id')} "
        f"WHERE {unset} AND EXISTS {rep_team.format('proposals.user_id')}",
        f"UPDATE deliveries SET team_id = {rep_team.format('deliveries.target')} "
        f"WHERE {unset} AND kind = 'digest' AND EXISTS {rep_team.format('deliveries.target')}",
        "UPDATE deliveries SET team_id = (SELECT c.team_id FROM channels c WHERE c.id = deliveries.target) "
        f"WHERE {unset} AND kind <> 'digest' "
        "AND EXISTS (SELECT 1 FROM channels c WHERE c.id = deliveries.target AND c.team_id <> '')",
        "UPDATE crm_links SET team_id = (SELECT d.team_id FROM deals d WHERE d.id = crm_links.deal_id)",
    ]
    for sql in steps:
        bind.execute(sa.text(sql))
    fill = only or ''
    for table in ('reps', 'channels', 'deals', 'proposals', 'deliveries', 'crm_links', 'crm_state'):
        bind.execute(sa.text(f"UPDATE {table} SET team_id = :t WHERE {unset}"), {"t": fill})
