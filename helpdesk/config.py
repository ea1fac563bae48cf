"""Settings from the environment, read and checked once at start-up.

Every setting has a default that works on a fresh machine: files the embedded defaults need
(SQLite database, embedded Redis, secret key, DKIM keys, captured mail) live under
``HELPDESK_VAR_DIR``. A malformed value fails with one line naming the variable.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from helpdesk import lmtp_address

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production", "test")
LOG_FORMATS = ("text", "json")
# The seeds' address for mail without a login (death of the company owner, locked access).
DEFAULT_ACCOUNTING_MAILBOX = "buchhaltung@jtl-software.de"

Number = TypeVar("Number", int, float)


SENDER_CHECKS = ("dns", "trusted", "off")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    environment: str
    database_url: str
    redis_url: str | None
    smtp_url: str
    secret_key: str
    public_url: str
    mail_domain: str
    mail_from: str
    dkim_domain: str
    dkim_rsa_selector: str
    dkim_ed25519_selector: str
    dkim_key_dir: Path
    routing_rules_path: Path
    sla_policies_path: Path
    log_level: str = "INFO"
    log_format: str = "text"  # "json": one JSON object per line (production's log systems)
    metrics_token: str = field(default="", repr=False)  # GET /metrics answers only to it
    metrics_dir: Path = Path("var/metrics")  # every process's counters (multi-process mode)
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted
    mail_in_host: str = "127.0.0.1"
    mail_in_port: int = 8024
    support_mailboxes: tuple[str, ...] = ()
    mail_in_max_bytes: int = 25 * 1024 * 1024
    mail_in_acks_per_hour: int = 5
    mail_in_tickets_per_hour: int = 20
    # Who really sent a mail (docs/mail-in.md): dns | trusted | off.
    mail_in_sender_check: str = "off"
    mail_in_dns_resolvers: tuple[str, ...] = ()  # host or host:port; empty: the system's
    mail_in_dns_timeout: float = 3.0  # seconds per lookup (for SPF: all its lookups)
    mail_in_trusted_authserv_id: str = ""  # Authentication-Results of this MTA are trusted
    attachment_max_bytes: int = 10 * 1024 * 1024
    web_workers: int = 2  # gunicorn processes of `make run`
    web_threads: int = 8  # gthread threads per process; keep-alive connections share them
    sensitive_master_key: str = field(default="", repr=False)
    sensitive_retired_keys: tuple[str, ...] = field(default=(), repr=False)
    sensitive_retention_days: int = 14
    oncall_emails: tuple[str, ...] = ()
    oncall_webhook_url: str | None = None
    # Mandatory mailings (docs/mailings.md).
    mailing_approval_threshold: int = 50  # more accounts than this need a second approval
    mailing_batch_size: int = 500  # delivery records per RQ job (one SMTP connection each)
    mailing_rate: float = 0.0  # messages per second over all domains; 0 means unlimited
    mailing_domain_rate: float = 100.0  # messages per second to one domain; 0 means unlimited
    mailing_lease_seconds: int = 600  # a claim older than this is presumed dead; job timeout
    mailing_max_attempts: int = 8  # temporary failures after which a record is failed
    mailing_link_hosts: tuple[str, ...] = ()  # the only hosts a mailing may link to
    mailing_proof_key: Path = Path("var/mailing-proof.ed25519")  # signs proofs of delivery
    mailing_providers_path: Path = PROJECT_ROOT / "mailing_providers.yaml"
    genuine_check_address: str = ""  # forwarded mails to this address get a genuineness verdict
    genuine_checks_per_hour: int = 30  # public genuineness checks per client address and hour

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def embedded_redis_path(self) -> Path:
        return self.var_dir / "redis" / "redis.db"

    @property
    def mail_store_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def quarantine_dir(self) -> Path:
        """Incoming mail that could not be taken, each message beside its reason."""
        return self.var_dir / "mail-in" / "quarantine"

    @property
    def attachment_dir(self) -> Path:
        return self.var_dir / "attachments"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default ``os.environ``); raise ConfigError."""
    env = os.environ if environ is None else environ

    var_dir = Path(env.get("HELPDESK_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    environment = _choice(env, "HELPDESK_ENV", "development", ENVIRONMENTS)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'helpdesk.db'}"
    _url(
        "DATABASE_URL",
        database_url,
        ("sqlite", "postgresql", "postgresql+psycopg"),
    )
    redis_url = env.get("REDIS_URL") or None
    if redis_url is not None:
        _url("REDIS_URL", redis_url, ("redis", "rediss", "unix"))
    smtp_url = env.get("SMTP_URL") or "smtp://127.0.0.1:8025"
    _url("SMTP_URL", smtp_url, ("smtp", "smtps", "smtp+starttls"))

    # Links in development mail point at the port the service really runs on.
    port = _positive_int(env, "PORT", 8000)
    public_url = (env.get("PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/")
    _url("PUBLIC_URL", public_url, ("http", "https"))
    mail_domain = env.get("MAIL_DOMAIN") or "support.example.com"
    mail_from = _email("MAIL_FROM", env.get("MAIL_FROM") or f"support@{mail_domain}")
    support_mailboxes = tuple(
        _email("SUPPORT_MAILBOXES", address.strip())
        for address in (
            env.get("SUPPORT_MAILBOXES") or f"{mail_from},{DEFAULT_ACCOUNTING_MAILBOX}"
        ).split(",")
        if address.strip()
    )

    mailing_link_hosts = env.get("MAILING_LINK_HOSTS") or urlsplit(public_url).hostname or ""
    mail_in_host, mail_in_port = mail_in_address(env)

    return Settings(
        var_dir=var_dir,
        environment=environment,
        database_url=database_url,
        redis_url=redis_url,
        smtp_url=smtp_url,
        secret_key=env.get("SECRET_KEY") or _generated_secret(var_dir / "secret_key"),
        public_url=public_url,
        mail_domain=mail_domain,
        mail_from=mail_from,
        dkim_domain=env.get("DKIM_DOMAIN") or mail_domain,
        dkim_rsa_selector=env.get("DKIM_RSA_SELECTOR") or "rsa2026",
        dkim_ed25519_selector=env.get("DKIM_ED25519_SELECTOR") or "ed2026",
        dkim_key_dir=Path(env.get("DKIM_KEY_DIR") or var_dir / "dkim"),
        routing_rules_path=Path(env.get("ROUTING_RULES") or PROJECT_ROOT / "routing_rules.yaml"),
        sla_policies_path=Path(env.get("SLA_POLICIES") or PROJECT_ROOT / "sla_policies.yaml"),
        log_level=_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        log_format=_choice(
            env, "LOG_FORMAT", "text" if environment == "development" else "json", LOG_FORMATS
        ),
        metrics_token=env.get("METRICS_TOKEN", ""),
        metrics_dir=Path(env.get("METRICS_DIR") or var_dir / "metrics"),
        proxy_hops=_non_negative(env, "PROXY_HOPS", 0, int),
        attachment_max_bytes=_positive_int(env, "ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        web_workers=_positive_int(env, "WEB_CONCURRENCY", 2),
        web_threads=_positive_int(env, "WEB_THREADS", 8),
        sensitive_master_key=_aes_key(
            "SENSITIVE_MASTER_KEY",
            env.get("SENSITIVE_MASTER_KEY") or _generated_key(var_dir / "sensitive_master_key"),
        ),
        sensitive_retired_keys=tuple(
            _aes_key("SENSITIVE_RETIRED_KEYS", key.strip())
            for key in env.get("SENSITIVE_RETIRED_KEYS", "").split(",")
            if key.strip()
        ),
        sensitive_retention_days=_positive_int(env, "SENSITIVE_RETENTION_DAYS", 14),
        oncall_emails=tuple(
            _email("ONCALL_EMAILS", address.strip())
            for address in (env.get("ONCALL_EMAILS") or f"oncall@{mail_domain}").split(",")
            if address.strip()
        ),
        oncall_webhook_url=_optional_url(env, "ONCALL_WEBHOOK_URL", ("http", "https")),
        mail_in_host=mail_in_host,
        mail_in_port=mail_in_port,
        support_mailboxes=support_mailboxes,
        mail_in_max_bytes=_positive_int(env, "MAIL_IN_MAX_BYTES", 25 * 1024 * 1024),
        mail_in_acks_per_hour=_positive_int(env, "MAIL_IN_ACKS_PER_HOUR", 5),
        mail_in_tickets_per_hour=_positive_int(env, "MAIL_IN_TICKETS_PER_HOUR", 20),
        mail_in_sender_check=_choice(
            env,
            "MAIL_IN_SENDER_CHECK",
            "dns" if environment == "production" else "off",
            SENDER_CHECKS,
        ),
        mail_in_dns_resolvers=_resolvers(env, "MAIL_IN_DNS_RESOLVER"),
        mail_in_dns_timeout=max(0.1, _non_negative(env, "MAIL_IN_DNS_TIMEOUT", 3.0, float)),
        mail_in_trusted_authserv_id=(env.get("MAIL_IN_TRUSTED_AUTHSERV_ID") or mail_domain)
        .strip()
        .lower(),
        mailing_approval_threshold=_non_negative(env, "MAILING_APPROVAL_THRESHOLD", 50, int),
        mailing_batch_size=max(1, _non_negative(env, "MAILING_BATCH_SIZE", 500, int)),
        mailing_rate=_non_negative(env, "MAILING_RATE", 0.0, float),
        mailing_domain_rate=_non_negative(env, "MAILING_DOMAIN_RATE", 100.0, float),
        mailing_lease_seconds=max(1, _non_negative(env, "MAILING_LEASE_SECONDS", 600, int)),
        mailing_max_attempts=max(1, _non_negative(env, "MAILING_MAX_ATTEMPTS", 8, int)),
        mailing_link_hosts=tuple(
            host.strip().lower() for host in mailing_link_hosts.split(",") if host.strip()
        ),
        mailing_proof_key=Path(env.get("MAILING_PROOF_KEY") or var_dir / "mailing-proof.ed25519"),
        mailing_providers_path=Path(
            env.get("MAILING_PROVIDERS") or PROJECT_ROOT / "mailing_providers.yaml"
        ),
        genuine_check_address=_email(
            "GENUINE_CHECK_ADDRESS", env.get("GENUINE_CHECK_ADDRESS") or f"echtheit@{mail_domain}"
        ),
        genuine_checks_per_hour=_positive_int(env, "GENUINE_CHECKS_PER_HOUR", 30),
    )


def _resolvers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated ``host`` or ``host:port`` (``[v6]:port``) of DNS resolvers."""
    found = []
    for entry in (env.get(name) or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        parts = urlsplit(f"dns://{entry}")
        try:
            port = parts.port
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None
        if not parts.hostname:
            raise ConfigError(f"{name}: {entry!r} names no host")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        found.append(f"{host}:{port or 53}")
    return tuple(found)


def mail_in_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Where the LMTP server listens: all `helpdesk mail-in deliver --via-lmtp` needs to know."""
    try:
        return lmtp_address.mail_in_address(environ)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name}: {value!r} is not a positive whole number")
    return int(value)


def _non_negative(env: Mapping[str, str], name: str, default: Number, kind: type[Number]) -> Number:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}: must not be negative")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _positive_int(env, name, default)
    if port > 65535:
        raise ConfigError(f"{name}: {port} is not a TCP port")
    return port


def _aes_key(name: str, value: str) -> str:
    """A 256-bit key in urlsafe base64 (``helpdesk keys generate`` prints one)."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError(f"{name}: not urlsafe base64") from None
    if len(raw) != 32:
        raise ConfigError(f"{name}: a key must be 32 bytes (256 bits), got {len(raw)}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ConfigError(f"{name}: scheme must be one of {', '.join(schemes)}")
    if parts.scheme not in ("sqlite", "unix") and not parts.hostname:
        raise ConfigError(f"{name}: a host is required")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None


def _optional_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = env.get(name) or None
    if value is not None:
        _url(name, value, schemes)
    return value


def _email(name: str, value: str) -> str:
    # Imported here: its import compiles large patterns that most commands never need.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ConfigError(f"{name}: {error}") from None


def _generated_secret(path: Path) -> str:
    """Return the secret kept in ``path``, creating it (mode 0600) on first use."""
    if not path.exists():
        write_once(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def _generated_key(path: Path) -> str:
    """A 256-bit key (urlsafe base64) kept in ``path``, created (mode 0600) on first use."""
    if not path.exists():
        write_once(path, base64.urlsafe_b64encode(secrets.token_bytes(32)))
    return path.read_text().strip()


def write_once(path: Path, content: bytes) -> None:
    """Create ``path`` with ``content`` (mode 0600) unless it exists; safe between processes.

    The content is written to a private temporary file first and linked into place, so a
    concurrent reader never sees a half-written file and the first writer wins.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        with contextlib.suppress(FileExistsError):  # another process won; its file is complete
            os.link(temporary, path)
    finally:
        temporary.unlink()
