"""h-bankcode: enemy groups of theory items (items on one fact never share a paper), difficulty from data

Revision ID: d8b4e2a61c07
Revises: c5e1a9d7f3b2
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd8b4e2a61c07'
down_revision = 'c5e1a9d7f3b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enemy_group', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_exam_questions_enemy_group'), ['enemy_group'], unique=False)
        batch_op.add_column(sa.Column('facility', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('measured_difficulty', sa.Integer(), nullable=True))


def downgrade():
    # No table copy (recreate="never": SQLite >= 3.35 drops columns in place): copying exam_questions
    # would drop the table other tables' foreign keys point to, which SQLite refuses with FKs on.
    with op.batch_alter_table('exam_questions', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('measured_difficulty')
        batch_op.drop_column('facility')
        batch_op.drop_index(batch_op.f('ix_exam_questions_enemy_group'))
        batch_op.drop_column('enemy_group')
