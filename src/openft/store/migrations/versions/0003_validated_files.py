"""validated files: what the validation stage learned of a job's files, kept for the trainer

Queued jobs validated before this column existed go back to validation, so every job the
trainer starts has it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("validated_files", sa.JSON(), nullable=True))
    op.execute("UPDATE jobs SET status = 'validating_files' WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("validated_files")
