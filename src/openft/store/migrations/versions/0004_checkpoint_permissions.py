"""checkpoint permissions: a project's models shared with other projects; the project owning a
job's ft: parent, as resolved when the job was created

Jobs created before this revision have no owner recorded; the trainer locates their parent in
the job's own project, as it always did.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_permissions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["model_pk"], ["models.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("model_pk", "project_id", name="uq_checkpoint_permissions_project"),
    )
    with op.batch_alter_table("checkpoint_permissions") as batch_op:
        batch_op.create_index("ix_checkpoint_permissions_model_pk", ["model_pk"], unique=False)
        batch_op.create_index("ix_checkpoint_permissions_project_id", ["project_id"], unique=False)
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("base_project_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("base_project_id")
    op.drop_table("checkpoint_permissions")
