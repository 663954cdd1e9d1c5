"""job crashes: how many of the job's starts ended with its worker or training process lost

``attempts`` counts every start (a pause and resume, a clean shutdown's requeue start it again) and
fences the training process of each start; ``crashes`` counts the starts that were lost, and it is
what bounds recovery.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("crashes", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("crashes")
