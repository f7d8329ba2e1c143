"""theory answers: a server-side revision replaces the client's Date.now() sequence (branch h-pg)

``exam_answers.client_seq`` was a 32-bit integer but pages sent ``Date.now() + n`` (about 1.8e12):
every autosave failed on PostgreSQL. The server now orders answers itself with ``revision``.

Revision ID: 3f1c2a9d7b42
Revises: e7387fc4d30c
Create Date: 2026-12-01 20:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3f1c2a9d7b42'
down_revision = 'e7387fc4d30c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('client_seq')
    # Answers already given count as one revision, so a page loaded before the upgrade (base 0)
    # cannot overwrite them unseen.
    op.execute("UPDATE exam_answers SET revision = 1 WHERE answered_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('exam_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_seq', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.drop_column('revision')
