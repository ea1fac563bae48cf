"""Contact persons ("Ansprechpartner") and distribution lists ("Verteiler") of an account."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from accounts import addresses
from accounts.models import Account, ContactPerson, DistributionListEntry
from accounts.services import NotFound, ValidationError, record_audit
from accounts.vocabulary import contact_options
from helpdesk.runtime import Runtime
from helpdesk.text import header_text_problem

TEXT_LIMITS = {
    "title": 60,
    "first_name": 100,
    "last_name": 100,
    "position": 120,
    "phone": 40,
    "mobile_fax": 40,
}
LIST_LIMIT = 50


@dataclass(frozen=True)
class ContactDraft:
    """A checked contact person, ready to store."""

    salutation: str
    title: str
    first_name: str
    last_name: str
    position: str
    email: str
    email_key: str
    phone: str
    mobile_fax: str
    gdpr_representative: bool
    external: bool
    receives_critical: bool
    responsibilities: list[str]
    newsletter_channels: list[str]

    def audit_view(self) -> dict[str, Any]:
        view = asdict(self)
        del view["email_key"]
        return view


def parse_contact(data: Mapping[str, Any]) -> ContactDraft:
    """Check untrusted input field by field; raise ValidationError naming every bad field.

    Without ``newsletter_channels`` an internal person gets the default channels and an
    external person (e.g. an external data protection officer) none.
    """
    options = contact_options()
    errors: dict[str, str] = {}

    def text(name: str, *, required: bool = False) -> str:
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = "Bitte geben Sie einen Text ein."
            return ""
        if problem := header_text_problem(value):
            errors[name] = problem
            return ""
        value = " ".join(value.split())
        if required and not value:
            errors[name] = "Bitte füllen Sie dieses Feld aus."
        elif len(value) > TEXT_LIMITS.get(name, 100):
            errors[name] = f"Höchstens {TEXT_LIMITS.get(name, 100)} Zeichen."
        return value

    def flag(name: str) -> bool:
        value = data.get(name, False)
        if not isinstance(value, bool):
            errors[name] = "Erwartet wird ja oder nein (true/false)."
            return False
        return value

    def choices(name: str, allowed: frozenset[str]) -> list[str]:
        value = data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors[name] = "Erwartet wird eine Liste von Optionen."
            return []
        unknown = sorted(set(value) - allowed)
        if unknown:
            errors[name] = f"Unbekannte Auswahl: {', '.join(unknown)}."
        return sorted(set(value) & allowed)

    salutation = text("salutation")
    if salutation and salutation not in options.salutations:
        errors["salutation"] = f"Bitte wählen Sie: {', '.join(options.salutations)}."
    first_name = text("first_name", required=True)
    last_name = text("last_name", required=True)
    email = addresses.Address("", "")
    try:
        email = addresses.normalise(data.get("email") or "")
    except addresses.InvalidAddress as error:
        errors["email"] = str(error)
    external = flag("external")
    if data.get("newsletter_channels") is None:
        newsletters = [] if external else list(options.default_newsletters)
    else:
        newsletters = choices("newsletter_channels", options.newsletter_ids)
    draft = ContactDraft(
        salutation=salutation,
        title=text("title"),
        first_name=first_name,
        last_name=last_name,
        position=text("position"),
        email=email.email,
        email_key=email.key,
        phone=text("phone"),
        mobile_fax=text("mobile_fax"),
        gdpr_representative=flag("gdpr_representative"),
        external=external,
        receives_critical=flag("receives_critical"),
        responsibilities=choices("responsibilities", options.responsibility_ids),
        newsletter_channels=newsletters,
    )
    if errors:
        raise ValidationError(errors)
    return draft


def list_contacts(runtime: Runtime, account_id: int) -> list[ContactPerson]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(ContactPerson)
                .where(ContactPerson.account_id == account_id)
                .order_by(ContactPerson.last_name, ContactPerson.first_name, ContactPerson.id)
            )
        )


def get_contact(runtime: Runtime, account_id: int, contact_id: int) -> ContactPerson:
    with runtime.db.session() as session:
        contact = session.get(ContactPerson, contact_id)
        if contact is None or contact.account_id != account_id:
            raise NotFound(f"contact person {contact_id}")
        return contact


def _audit_view(contact: ContactPerson) -> dict[str, Any]:
    return {
        name: getattr(contact, name)
        for name in ContactDraft.__dataclass_fields__
        if name != "email_key"
    }


_DUPLICATE = {"email": "Diese E-Mail-Adresse ist bereits als Ansprechpartner hinterlegt."}


def create_contact(
    runtime: Runtime, account_id: int, draft: ContactDraft, actor: str
) -> ContactPerson:
    try:
        with runtime.db.session() as session:
            if session.get(Account, account_id) is None:
                raise NotFound(f"account {account_id}")
            contact = ContactPerson(account_id=account_id, **asdict(draft))
            session.add(contact)
            session.flush()
            record_audit(
                session,
                account_id=account_id,
                actor=actor,
                action="contact_person.created",
                subject_id=contact.id,
                after=draft.audit_view(),
            )
            return contact
    except IntegrityError:
        raise ValidationError(_DUPLICATE) from None


def update_contact(
    runtime: Runtime, account_id: int, contact_id: int, draft: ContactDraft, actor: str
) -> ContactPerson:
    try:
        with runtime.db.session() as session:
            contact = session.get(ContactPerson, contact_id, with_for_update=True)
            if contact is None or contact.account_id != account_id:
                raise NotFound(f"contact person {contact_id}")
            before = _audit_view(contact)
            for name, value in asdict(draft).items():
                setattr(contact, name, value)
            after = draft.audit_view()
            if before != after:
                session.flush()
                record_audit(
                    session,
                    account_id=account_id,
                    actor=actor,
                    action="contact_person.changed",
                    subject_id=contact_id,
                    before={k: v for k, v in before.items() if after[k] != v},
                    after={k: v for k, v in after.items() if before[k] != v},
                )
            return contact
    except IntegrityError:
        raise ValidationError(_DUPLICATE) from None


def delete_contact(runtime: Runtime, account_id: int, contact_id: int, actor: str) -> None:
    with runtime.db.session() as session:
        contact = session.get(ContactPerson, contact_id, with_for_update=True)
        if contact is None or contact.account_id != account_id:
            raise NotFound(f"contact person {contact_id}")
        before = _audit_view(contact)
        session.delete(contact)
        record_audit(
            session,
            account_id=account_id,
            actor=actor,
            action="contact_person.deleted",
            subject_id=contact_id,
            before=before,
        )


def distribution_lists(runtime: Runtime, account_id: int) -> dict[str, list[str]]:
    """Every purpose of contact_options.yaml with the account's addresses (possibly none)."""
    lists: dict[str, list[str]] = {purpose: [] for purpose in contact_options().purpose_ids}
    with runtime.db.session() as session:
        rows = session.execute(
            select(DistributionListEntry.purpose, DistributionListEntry.email)
            .where(DistributionListEntry.account_id == account_id)
            .order_by(DistributionListEntry.purpose, DistributionListEntry.id)
        ).all()
    for purpose, email in rows:
        lists.setdefault(purpose, []).append(email)
    return lists


def parse_addresses(lines: Iterable[str]) -> list[addresses.Address]:
    """One address per entry, blank entries ignored, duplicates dropped (first wins)."""
    found: dict[str, addresses.Address] = {}
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            address = addresses.normalise(line)
        except addresses.InvalidAddress as error:
            problems.append(f"Zeile {number}: {error}")
            continue
        found.setdefault(address.key, address)
    if len(found) > LIST_LIMIT:
        problems.append(f"Höchstens {LIST_LIMIT} Adressen je Verteiler.")
    if problems:
        raise ValidationError({"addresses": " ".join(problems)})
    return list(found.values())


def replace_distribution_list(
    runtime: Runtime, account_id: int, purpose: str, entries: list[str], actor: str
) -> list[str]:
    """Make the list of ``purpose`` hold exactly ``entries``; audit what changed."""
    if contact_options().purpose(purpose) is None:
        raise NotFound(f"distribution list purpose {purpose}")
    wanted = parse_addresses(entries)
    with runtime.db.session() as session:
        if session.get(Account, account_id, with_for_update=True) is None:
            raise NotFound(f"account {account_id}")
        current = session.scalars(
            select(DistributionListEntry).where(
                DistributionListEntry.account_id == account_id,
                DistributionListEntry.purpose == purpose,
            )
        ).all()
        before = [entry.email for entry in current]
        wanted_keys = {address.key for address in wanted}
        stale = [entry.id for entry in current if entry.email_key not in wanted_keys]
        if stale:
            session.execute(
                delete(DistributionListEntry).where(DistributionListEntry.id.in_(stale))
            )
        kept = {entry.email_key: entry for entry in current if entry.email_key in wanted_keys}
        for address in wanted:
            if address.key in kept:
                kept[address.key].email = address.email
            else:
                session.add(
                    DistributionListEntry(
                        account_id=account_id,
                        purpose=purpose,
                        email=address.email,
                        email_key=address.key,
                    )
                )
        after = [address.email for address in wanted]
        if sorted(before) != sorted(after):
            record_audit(
                session,
                account_id=account_id,
                actor=actor,
                action="distribution_list.changed",
                before={"purpose": purpose, "addresses": before},
                after={"purpose": purpose, "addresses": after},
            )
        return after
