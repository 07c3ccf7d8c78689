"""Template revisions: every template keeps each revision of its document, and each service environment
records the template revision its plan was rendered from.

Every existing template gets one revision row holding its current document under its current revision
number (revision 1 for a template never updated); documents of earlier revisions were never stored, so they
cannot be recovered and are not invented. Each existing service environment takes the revision its service
recorded, or 1 when the service recorded none. A downgrade drops the new table and column only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 23:40:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASELINE_NOTE = "recorded when revisions were introduced"


def upgrade() -> None:
    op.create_table(
        "catalog_template_revisions",
        sa.Column("template", sa.String(length=63), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template", "revision"),
    )
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO catalog_template_revisions (template, revision, document, digest, author, "
            "change_note, create_time) SELECT name, COALESCE(NULLIF(revision, 0), 1), document, '', '', "
            ":note, update_time FROM catalog_templates"
        ).bindparams(note=BASELINE_NOTE)
    )
    documents = bind.execute(sa.text("SELECT template, revision, document FROM catalog_template_revisions"))
    for template, number, document in list(documents):
        bind.execute(
            sa.text(
                "UPDATE catalog_template_revisions SET digest = :digest "
                "WHERE template = :template AND revision = :revision"
            ).bindparams(
                digest=hashlib.sha256(document.encode()).hexdigest(), template=template, revision=number
            )
        )

    with op.batch_alter_table("catalog_service_environments") as batch:
        batch.add_column(sa.Column("template_revision", sa.Integer(), nullable=True))
    bind.execute(
        sa.text(
            "UPDATE catalog_service_environments SET template_revision = COALESCE("
            "(SELECT NULLIF(s.template_revision, 0) FROM catalog_services AS s "
            "WHERE s.name = catalog_service_environments.service), 1)"
        )
    )
    with op.batch_alter_table("catalog_service_environments") as batch:
        batch.alter_column("template_revision", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("catalog_service_environments") as batch:
        batch.drop_column("template_revision")
    op.drop_table("catalog_template_revisions")
