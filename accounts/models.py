"""Customer accounts, their people and lists, the users who sign in, and the audit log.

E-mail addresses are stored in email-validator's normalised form; the ``*_key`` columns hold a
lower-cased comparison key so that audiences can be de-duplicated in SQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base, UTCDateTime, in_values, utcnow
from vocabulary import EDITIONS

USER_KINDS = ("customer", "staff")
CUSTOMER_PERMISSIONS = (
    "customer.tickets",
    "customer.contacts",
    "customer.email_history",
    "customer.users",
)
STAFF_ROLES = ("agent", "supervisor", "ops", "admin")


class Account(Base):
    """A customer: the contract system owns edition, products and locks, the customer the rest."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(in_values("edition", tuple(EDITIONS)), name="edition"),
        CheckConstraint("key_accounting = false OR edition = 'enterprise'", name="key_accounting"),
        CheckConstraint("customer_number <> ''", name="customer_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(20), unique=True)
    company: Mapped[str] = mapped_column(String(200))
    edition: Mapped[str] = mapped_column(String(20), default="start")
    key_accounting: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    first_contact: Mapped[str | None] = mapped_column(String(320))
    first_contact_key: Mapped[str | None] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    license_locks: Mapped[list[LicenseLock]] = relationship(
        back_populates="account", order_by="LicenseLock.product", cascade="all, delete-orphan"
    )
    products: Mapped[list[AccountProduct]] = relationship(
        back_populates="account", order_by="AccountProduct.product", cascade="all, delete-orphan"
    )

    @property
    def product_names(self) -> list[str]:
        return [row.product for row in self.products]


class AccountProduct(Base):
    """A product the account uses, named as a product family of the routing catalog."""

    __tablename__ = "account_products"
    __table_args__ = (CheckConstraint("product <> ''", name="product"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    product: Mapped[str] = mapped_column(String(120), primary_key=True, index=True)

    account: Mapped[Account] = relationship(back_populates="products")


class LicenseLock(Base):
    """A locked product licence ("gesperrt"), until a date or, without one, until revoked."""

    __tablename__ = "license_locks"
    __table_args__ = (
        UniqueConstraint("account_id", "product", name="uq_license_locks_account_product"),
        CheckConstraint("until IS NULL OR until >= since", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    product: Mapped[str] = mapped_column(String(120))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")

    account: Mapped[Account] = relationship(back_populates="license_locks")

    def active_on(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


class ContactPerson(Base):
    """An "Ansprechpartner": a person at the customer JTL may contact, with their areas."""

    __tablename__ = "contact_persons"
    __table_args__ = (
        UniqueConstraint("account_id", "email_key", name="uq_contact_persons_account_email"),
        Index("ix_contact_persons_critical", "account_id", "receives_critical"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    salutation: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(60), default="")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    mobile_fax: Mapped[str] = mapped_column(String(40), default="")
    gdpr_representative: Mapped[bool] = mapped_column(default=False)
    external: Mapped[bool] = mapped_column(default=False)
    receives_critical: Mapped[bool] = mapped_column(default=False)
    responsibilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    newsletter_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.title, self.first_name, self.last_name) if part)


class DistributionListEntry(Base):
    """One address on an account's distribution list ("Verteiler") for a purpose."""

    __tablename__ = "distribution_list_entries"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "purpose", "email_key", name="uq_distribution_list_entries_address"
        ),
        CheckConstraint("purpose <> ''", name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """Someone who signs in: a customer user of one account, or a member of staff."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(in_values("kind", USER_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'customer' AND account_id IS NOT NULL)"
            " OR (kind = 'staff' AND account_id IS NULL)",
            name="account",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[bool] = mapped_column(default=False)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    require_totp: Mapped[bool] = mapped_column(default=False)
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(500))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_counter: Mapped[int | None]
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    session_version: Mapped[int] = mapped_column(default=0)
    # Staff: which mails about tickets they want (agent_alerts); SLA warnings were always sent.
    notify_new_ticket: Mapped[bool] = mapped_column(default=False)
    notify_customer_reply: Mapped[bool] = mapped_column(default=False)
    notify_sla_warning: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account | None] = relationship()

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class Invitation(Base):
    """A single-use, expiring link to join: as a user of an account (sent by its owner) or as a
    member of staff (sent by an admin, with roles, queues and the two-factor rule)."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(in_values("kind", USER_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'customer' AND account_id IS NOT NULL)"
            " OR (kind = 'staff' AND account_id IS NULL)",
            name="account",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="customer")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    require_totp: Mapped[bool] = mapped_column(default=False)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A single-use, expiring link a user requests when they forgot their password."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for integrations; only its keyed digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """Who changed what, and when: on an account's first contact, contact persons or lists
    (``account_id`` set). Entries without an account record what ops did to failed work
    (retried, discarded, released from quarantine) or what an admin did to a member of staff
    (``subject_id`` the user).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
