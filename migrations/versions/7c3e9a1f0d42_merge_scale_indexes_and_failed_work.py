"""merge: the scale indexes and the failed-work states, one head again

Revision ID: 7c3e9a1f0d42
Revises: b61f29a0b8f5, 4167bf3f5c51
Create Date: 2026-11-30 00:56:00.000000

Both branches grew from ``eed93e36b976`` and were merged into main side by side; they touch
different tables, so joining them needs no statement. A merge keeps databases that applied
either one (or both) valid, where re-pointing one of them would not.
"""

from collections.abc import Sequence

revision: str = "7c3e9a1f0d42"
down_revision: str | Sequence[str] | None = ("b61f29a0b8f5", "4167bf3f5c51")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
