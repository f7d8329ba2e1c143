"""h-ui: appeals (申诉) against published practical items

Revision ID: d7a4e2b9c1f0
Revises: d8b4e2a61c07
Create Date: 2026-12-01 23:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7a4e2b9c1f0'
down_revision = 'd8b4e2a61c07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('item_id', sa.String(length=80), nullable=False),
    sa.Column('item_label', sa.String(length=200), nullable=False),
    sa.Column('points_before', sa.Float(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('points_after', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_appeals_answered_by_id_users')),
    sa.ForeignKeyConstraint(['call_id'], ['practical_calls.id'], name=op.f('fk_appeals_call_id_practical_calls')),
    sa.ForeignKeyConstraint(['candidate_id'], ['sitting_candidates.id'],
                            name=op.f('fk_appeals_candidate_id_sitting_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('call_id', 'item_id', name='uq_appeal_call_item'),
    sa.CheckConstraint("state IN ('open', 'upheld', 'rejected')", name=op.f('ck_appeals_state'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_state'))
        batch_op.drop_index(batch_op.f('ix_appeals_candidate_id'))
    op.drop_table('appeals')
