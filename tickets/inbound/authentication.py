"""Who really sent a mail: SPF, DKIM and DMARC alignment of its From domain.

``MAIL_IN_SENDER_CHECK=dns`` evaluates them here: SPF with pyspf for the client our MTA
received the mail from (the topmost Received header, which our MTA wrote), DKIM with dkimpy,
DMARC (RFC 7489: the policy of the From domain or its organisational domain, relaxed or
strict alignment) with the Public Suffix List. All lookups go through one dnspython resolver
(``MAIL_IN_DNS_RESOLVER``, ``MAIL_IN_DNS_TIMEOUT``). ``trusted`` takes the results from the
``Authentication-Results`` header (RFC 8601) of the MTA named by
``MAIL_IN_TRUSTED_AUTHSERV_ID`` instead; ``off`` checks nothing.

A From that fails DMARC is unverified: its mail joins no existing ticket, inherits no account
and gets no automatic answer (``services``).
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import time
from dataclasses import dataclass
from functools import cache

import dkim
import dns.exception
import dns.nameserver
import dns.resolver
import spf
from publicsuffixlist import PublicSuffixList
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from helpdesk.labels import label
from tickets.inbound.models import SenderCheckRecord
from tickets.inbound.parsing import ParsedMail

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy")
RECEIVED_CLIENT = re.compile(
    r"^\s*from\s+(?P<helo>\S+)\s+\([^)\[]*\[(?:IPv6:)?(?P<ip>[0-9A-Fa-f:.]+)\]", re.IGNORECASE
)
RESOLVER_CACHE_ENTRIES = 10_000
_resolver: contextvars.ContextVar[dns.resolver.Resolver] = contextvars.ContextVar("resolver")


@dataclass(frozen=True)
class SenderCheck:
    """The verdict on one mail's From, as stored beside the message and shown to agents."""

    method: str  # dns | trusted
    from_domain: str
    spf: str
    spf_domain: str
    dkim: str
    dkim_domains: tuple[str, ...]
    dmarc: str
    dmarc_policy: str | None  # none | quarantine | reject, as published for the From domain

    @property
    def unverified(self) -> bool:
        """The From domain's owner says this mail is not theirs (DMARC fail, any policy)."""
        return self.dmarc == "fail"

    @property
    def summary(self) -> str:
        policy = f" (p={self.dmarc_policy})" if self.dmarc_policy else ""
        spf_domain = f" ({self.spf_domain})" if self.spf_domain else ""
        dkim_domains = f" ({', '.join(self.dkim_domains)})" if self.dkim_domains else ""
        return (
            f"DMARC {self.dmarc}{policy} for {self.from_domain or '-'}; "
            f"SPF {self.spf}{spf_domain}; DKIM {self.dkim}{dkim_domains}"
        )


def check_sender(
    settings: Settings, raw: bytes, mail: ParsedMail, envelope_sender: str | None
) -> SenderCheck | None:
    """The verdict on ``mail``'s From by ``MAIL_IN_SENDER_CHECK``; None when it is off."""
    if settings.mail_in_sender_check == "off":
        return None
    from_domain = mail.sender.rpartition("@")[2].lower()
    if settings.mail_in_sender_check == "trusted":
        return _trusted_results(settings, mail, from_domain)
    resolver = make_resolver(settings)
    deadline = time.monotonic() + settings.mail_in_dns_timeout
    spf_result, spf_domain = _spf(resolver, mail, envelope_sender, settings.mail_in_dns_timeout)
    dkim_result, dkim_domains = _dkim(resolver, raw)
    dmarc_result, policy = _dmarc(
        resolver, from_domain, spf_result, spf_domain, dkim_result, dkim_domains, deadline
    )
    return SenderCheck(
        "dns", from_domain, spf_result, spf_domain, dkim_result, dkim_domains, dmarc_result, policy
    )


def make_resolver(settings: Settings) -> dns.resolver.Resolver:
    """The resolver for ``MAIL_IN_DNS_RESOLVER`` (host:port, ...), else the system's.

    One per process and setting, with a cache that keeps answers for their TTL: the same
    sender's domain is looked up once, not for every mail.
    """
    return _shared_resolver(settings.mail_in_dns_resolvers, settings.mail_in_dns_timeout)


@cache
def _shared_resolver(resolvers: tuple[str, ...], timeout: float) -> dns.resolver.Resolver:
    if not resolvers:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        servers = []
        for entry in resolvers:
            host, _, port = entry.rpartition(":")
            servers.append(dns.nameserver.Do53Nameserver(host.strip("[]"), int(port)))
        resolver.nameservers = servers
    resolver.lifetime = timeout
    resolver.timeout = timeout
    resolver.cache = dns.resolver.LRUCache(RESOLVER_CACHE_ENTRIES)
    return resolver


def _txt(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """TXT strings of ``name`` (each record's strings joined); [] when there is none."""
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def _spf(
    resolver: dns.resolver.Resolver, mail: ParsedMail, envelope_sender: str | None, timeout: float
) -> tuple[str, str]:
    """SPF of the envelope sender's domain (the HELO name for a null sender)."""
    client = _received_client(mail)
    if client is None:
        return "none", ""
    helo, ip = client
    sender = envelope_sender or f"postmaster@{helo}"
    domain = sender.rpartition("@")[2].lower()
    token = _resolver.set(resolver)
    # pyspf looks up every name through its module-level DNSLookup; ours asks the resolver
    # of the check under way (a context variable), so each check uses its settings.
    spf.DNSLookup = _pyspf_lookup
    try:
        result, _explanation = spf.check2(i=ip, s=sender, h=helo, querytime=timeout)
    except spf.TempError:
        result = "temperror"
    except spf.PermError:  # an address or name pyspf cannot even ask about
        result = "permerror"
    finally:
        _resolver.reset(token)
    return (result if result in RESULTS else "permerror"), domain


def _pyspf_lookup(name: str, qtype: str, strict: bool = True, timeout: float = 30) -> list:
    """pyspf's lookup, through the resolver of the check under way."""
    resolver = _resolver.get()
    try:
        answer = resolver.resolve(name, qtype, lifetime=min(timeout, resolver.lifetime))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise spf.TempError(f"DNS {error}") from None
    found: list = []
    for record in answer:
        if qtype in ("A", "AAAA"):
            found.append(((name, qtype), record.address))
        elif qtype == "MX":
            found.append(((name, qtype), (record.preference, record.exchange)))
        elif qtype == "PTR":
            found.append(((name, qtype), record.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            found.append(((name, qtype), record.strings))
    return found


def _received_client(mail: ParsedMail) -> tuple[str, str] | None:
    """HELO name and IP of the client, from the topmost Received header (our MTA's)."""
    received = mail.message.get_all("Received") or []
    if not received:
        return None
    found = RECEIVED_CLIENT.search(" ".join(str(received[0]).split()))
    if found is None:
        return None
    try:
        address = ipaddress.ip_address(found.group("ip"))
    except ValueError:
        return None
    return found.group("helo").lower(), str(address)


def _dkim(resolver: dns.resolver.Resolver, raw: bytes) -> tuple[str, tuple[str, ...]]:
    """'pass' with the d= of every valid signature, 'fail', 'temperror' or 'none'."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        records = _txt(resolver, name.decode().rstrip("."))
        return records[0].encode() if records else None

    signatures = len(re.findall(rb"(?im)^DKIM-Signature:", raw.split(b"\r\n\r\n", 1)[0]))
    if not signatures:
        return "none", ()
    passed: list[str] = []
    temporary = False
    for index in range(signatures):
        verifier = dkim.DKIM(raw)
        try:
            if verifier.verify(idx=index, dnsfunc=lookup):
                passed.append(verifier.domain.decode().lower())
        except dns.exception.DNSException:
            temporary = True
        except (dkim.DKIMException, ValueError, IndexError, UnicodeError):
            continue  # a malformed signature proves nothing; the next one may
    if passed:
        return "pass", tuple(dict.fromkeys(passed))
    return ("temperror" if temporary else "fail"), ()


def _dmarc(
    resolver: dns.resolver.Resolver,
    from_domain: str,
    spf_result: str,
    spf_domain: str,
    dkim_result: str,
    dkim_domains: tuple[str, ...],
    deadline: float,
) -> tuple[str, str | None]:
    """DMARC result and the policy that applies to ``from_domain`` (RFC 7489 6.6.3).

    Without an aligned pass, a temporary DNS error in SPF or DKIM makes the result
    ``temperror``, not ``fail``: a resolver's bad minute must not brand genuine mail forged.
    """
    if not from_domain:
        return "none", None
    organisation = organisational_domain(from_domain)
    try:
        record = _dmarc_record(resolver, from_domain)
        at_organisation = False
        if record is None and organisation != from_domain and time.monotonic() < deadline:
            record = _dmarc_record(resolver, organisation)
            at_organisation = True
    except dns.exception.DNSException:
        return "temperror", None
    if record is None:
        return "none", None
    policy = record.get("p", "none").lower()
    if at_organisation and "sp" in record:
        policy = record["sp"].lower()
    policy = policy if policy in ("none", "quarantine", "reject") else "none"
    strict_dkim = record.get("adkim", "r").lower() == "s"
    strict_spf = record.get("aspf", "r").lower() == "s"
    dkim_aligned = any(_aligned(domain, from_domain, strict_dkim) for domain in dkim_domains)
    spf_aligned = spf_result == "pass" and _aligned(spf_domain, from_domain, strict_spf)
    if dkim_aligned or spf_aligned:
        return "pass", policy
    if "temperror" in (spf_result, dkim_result):
        return "temperror", policy
    return "fail", policy


def _dmarc_record(resolver: dns.resolver.Resolver, domain: str) -> dict[str, str] | None:
    for text in _txt(resolver, f"_dmarc.{domain}"):
        tags = {}
        for part in text.split(";"):
            name, _, value = part.partition("=")
            tags[name.strip().lower()] = value.strip()
        if tags.get("v", "").upper() == "DMARC1":
            return tags
    return None


def _aligned(domain: str, from_domain: str, strict: bool) -> bool:
    if not domain:
        return False
    if strict:
        return domain == from_domain
    return organisational_domain(domain) == organisational_domain(from_domain)


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """The registered domain (one label below the public suffix), or ``domain`` itself."""
    return _public_suffixes().privatesuffix(domain.lower().rstrip(".")) or domain.lower()


def _trusted_results(settings: Settings, mail: ParsedMail, from_domain: str) -> SenderCheck:
    """The verdict our own MTA wrote in Authentication-Results (its authserv-id only)."""
    header = next(
        (
            " ".join(str(value).split())
            for value in mail.message.get_all("Authentication-Results") or []
            if str(value).strip().split(";")[0].strip().split()[0].lower()
            == settings.mail_in_trusted_authserv_id
        ),
        "",
    )
    clauses = [clause.strip() for clause in header.split(";")[1:]]
    spf_result, spf_domain, dmarc, policy = "none", "", "none", None
    dkim_passed: list[str] = []
    dkim_seen = False
    for clause in clauses:
        method, _, rest = clause.partition("=")
        result = rest.split()[0].lower() if rest.split() else "none"
        result = result if result in RESULTS else "permerror"
        if method.strip().lower() == "spf":
            spf_result = result
            found = re.search(r"smtp\.mailfrom=([^\s;]+)", rest)
            spf_domain = found.group(1).rpartition("@")[2] if found else ""
        elif method.strip().lower() == "dkim":
            dkim_seen = True
            domain = re.search(r"header\.d=([^\s;]+)", rest)
            if result == "pass" and domain:
                dkim_passed.append(domain.group(1).lower())
        elif method.strip().lower() == "dmarc":
            dmarc = result
            found = re.search(r"\bp(?:olicy)?=(none|quarantine|reject)", rest, re.IGNORECASE)
            policy = found.group(1).lower() if found else None
    dkim_result = "pass" if dkim_passed else "fail" if dkim_seen else "none"
    return SenderCheck(
        "trusted",
        from_domain,
        spf_result,
        spf_domain.lower(),
        dkim_result,
        tuple(dkim_passed),
        dmarc,
        policy,
    )


@dataclass(frozen=True)
class ShownCheck:
    """One message's verdict in the agents' words, for the console's ticket page."""

    message_id: int
    unverified: bool
    text: str


def shown_checks(session: Session, message_ids: list[int]) -> list[ShownCheck]:
    """The stored verdicts of ``message_ids``, in their order, labelled for agents."""
    if not message_ids:
        return []
    records = session.scalars(
        select(SenderCheckRecord)
        .where(SenderCheckRecord.ticket_message_id.in_(message_ids))
        .order_by(SenderCheckRecord.ticket_message_id)
    ).all()
    shown = []
    for record in records:
        policy = record.dmarc_policy
        policy = f" (Richtlinie: {label(policy, 'dmarc_policy')})" if policy else ""
        spf_domain = f" für {record.spf_domain}" if record.spf_domain else ""
        signers = f" von {', '.join(record.dkim_domains)}" if record.dkim_domains else ""
        text = (
            f"{record.from_domain}: DMARC {_label(record.dmarc)}{policy} · "
            f"SPF {_label(record.spf)}{spf_domain} · DKIM {_label(record.dkim)}{signers}"
        )
        if record.unverified:
            text = "Absender nicht verifiziert, mit keinem Konto verknüpft: " + text
        shown.append(ShownCheck(record.ticket_message_id, record.unverified, text))
    return shown


def _label(result: str) -> str:
    return label(result, "sender_verdict")
