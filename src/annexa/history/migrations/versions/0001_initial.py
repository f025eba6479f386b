"""Runs chained per repository, normalised findings and their controls, chain heads.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annexa_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("repository", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("platform_run_id", sa.String(256), nullable=True),
        sa.Column("ref", sa.String(512), nullable=True),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("pull_request", sa.Integer(), nullable=True),
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(256), nullable=True),
        sa.Column("trigger", sa.String(64), nullable=True),
        sa.Column("policy_digest", sa.String(80), nullable=True),
        sa.Column("config_digest", sa.String(80), nullable=True),
        sa.Column("catalog_digest", sa.String(80), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("signature", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_annexa_runs"),
        sa.UniqueConstraint("repository", "seq", name="uq_annexa_runs_repository_seq"),
    )
    op.create_index("ix_annexa_runs_repository_started_at", "annexa_runs", ["repository", "started_at"])
    op.create_table(
        "annexa_findings",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("repository", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("introduced", sa.Boolean(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("waiver_ticket", sa.String(256), nullable=True),
        sa.Column("waiver_approved_by", sa.String(256), nullable=True),
        sa.Column("waiver_requested_by", sa.String(256), nullable=True),
        sa.Column("waiver_expires", sa.String(40), nullable=True),
        sa.Column("waiver_risk", sa.String(64), nullable=True),
        sa.Column("waiver_justification", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["annexa_runs.run_id"], name="fk_annexa_findings_run_id_annexa_runs"),
        sa.PrimaryKeyConstraint("run_id", "fingerprint", name="pk_annexa_findings"),
    )
    op.create_index(
        "ix_annexa_findings_fingerprint_repository_seq", "annexa_findings", ["fingerprint", "repository", "seq"]
    )
    op.create_index("ix_annexa_findings_repository_seq", "annexa_findings", ["repository", "seq"])
    op.create_table(
        "annexa_finding_controls",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("control", sa.String(32), nullable=False),
        sa.Column("repository", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "fingerprint", "control", name="pk_annexa_finding_controls"),
    )
    op.create_index(
        "ix_annexa_finding_controls_control_repository_seq",
        "annexa_finding_controls",
        ["control", "repository", "seq"],
    )
    op.create_table(
        "annexa_chain_heads",
        sa.Column("repository", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("repository", name="pk_annexa_chain_heads"),
    )


def downgrade() -> None:
    op.drop_table("annexa_chain_heads")
    op.drop_index("ix_annexa_finding_controls_control_repository_seq", table_name="annexa_finding_controls")
    op.drop_table("annexa_finding_controls")
    op.drop_index("ix_annexa_findings_repository_seq", table_name="annexa_findings")
    op.drop_index("ix_annexa_findings_fingerprint_repository_seq", table_name="annexa_findings")
    op.drop_table("annexa_findings")
    op.drop_index("ix_annexa_runs_repository_started_at", table_name="annexa_runs")
    op.drop_table("annexa_runs")
