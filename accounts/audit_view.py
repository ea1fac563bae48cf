"""An account's change log as staff read it: German actions and fields, names for option ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.invitations import PERMISSION_LABELS
from accounts.models import AuditEntry
from accounts.vocabulary import contact_options
from helpdesk.labels import LABELS, label


@dataclass(frozen=True)
class AuditLine:
    created_at: datetime
    actor: str
    action: str
    changes: list[tuple[str, str, str]]  # (field, before, after)


def _option_names() -> dict[str, str]:
    options = contact_options()
    names = {option.id: option.name for option in options.newsletter_channels}
    names |= {option.id: option.name for option in options.distribution_purposes}
    for group in options.responsibility_groups:
        names |= {option.id: option.name for option in group.options}
    return names | dict(PERMISSION_LABELS)


def _shown(value: Any, names: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, list):
        return ", ".join(_shown(item, names) for item in value)
    return names.get(str(value), str(value))


def lines(entries: Iterable[AuditEntry]) -> list[AuditLine]:
    names = _option_names()
    shown = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        fields = [name for name in {**before, **after} if name in LABELS["audit_field"]]
        shown.append(
            AuditLine(
                entry.created_at,
                entry.actor,
                label(entry.action, "audit"),
                [
                    (
                        label(name, "audit_field"),
                        _shown(before.get(name), names),
                        _shown(after.get(name), names),
                    )
                    for name in fields
                ],
            )
        )
    return shown
