"""JSON API for mandatory mailings: ``/api/v1/mailings`` (ops bearer tokens)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from notifications.mailings import proof, repair, services
from notifications.mailings.composing import DraftError, MailingDraft
from notifications.smtp import SmtpUnavailable

api = Blueprint("mailings_api", __name__, url_prefix="/api/v1/mailings")


def actor() -> str:
    """The person acting: the same for their session and their tokens (four-eyes rule)."""
    principal = current_principal()
    return str(principal.attributes.get("email") or principal.id)


NOT_AN_OBJECT = "Erwartet wird ein JSON-Objekt."


def _problem(status: int, detail: str, **extra: Any) -> Any:
    body = {"status": status, "detail": detail, **extra}
    return jsonify(body), status, {"Content-Type": "application/problem+json"}


@api.errorhandler(services.MailingNotFound)
def _not_found(error: services.MailingNotFound) -> Any:
    return _problem(404, "Dieses Mailing gibt es nicht.")


@api.errorhandler(services.MailingRefused)
def _refused(error: services.MailingRefused) -> Any:
    return _problem(409, str(error))


@api.errorhandler(services.QueueUnavailable)
def _queue_unavailable(error: services.QueueUnavailable) -> Any:
    return _problem(503, str(error))


def draft_from(data: Any) -> MailingDraft:
    """A draft from untrusted JSON; wrong types become DraftError naming the field."""
    if not isinstance(data, dict):
        raise DraftError({"_body": NOT_AN_OBJECT})
    errors: dict[str, str] = {}

    def text(name: str, default: str | None = None) -> str:
        value = data.get(name, default)
        if not isinstance(value, str):
            errors[name] = "Erwartet wird ein Text."
            return ""
        return value

    audience = data.get("audience", {"kind": "all"})
    if not isinstance(audience, dict) or not isinstance(audience.get("values", []), list):
        errors["audience"] = 'Erwartet wird {"kind": ..., "values": [...]}.'
        audience = {"kind": "all"}
    follows = data.get("follows")
    if follows is not None and (not isinstance(follows, int) or isinstance(follows, bool)):
        errors["follows"] = "Erwartet wird die Nummer eines Mailings."
        follows = None
    draft = MailingDraft(
        product_family=text("product_family"),
        purpose=text("purpose"),
        subject=text("subject"),
        body=text("body"),
        body_format=text("body_format", "markdown"),
        audience_kind=str(audience.get("kind", "all")),
        audience_values=tuple(str(v) for v in audience.get("values", [])),
        follows_id=follows,
    )
    if errors:
        raise DraftError(errors)
    return draft


@api.post("")
@requires("ops")
def create() -> Any:
    try:
        mailing = services.create_mailing(
            current(), draft_from(request.get_json(silent=True)), actor()
        )
    except DraftError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    return jsonify(mailing.as_dict()), 201, {"Location": f"/api/v1/mailings/{mailing.id}"}


@api.get("")
@requires("ops")
def index() -> Any:
    return jsonify([mailing.as_dict() for mailing in services.list_mailings(current())])


@api.get("/<int:mailing_id>")
@requires("ops")
def show(mailing_id: int) -> Any:
    return jsonify(services.progress(current(), mailing_id).as_dict())


@api.post("/<int:mailing_id>/approve")
@requires("ops")
def approve(mailing_id: int) -> Any:
    return jsonify(services.approve(current(), mailing_id, actor()).as_dict())


@api.post("/<int:mailing_id>/send")
@requires("ops")
def send(mailing_id: int) -> Any:
    return jsonify(services.start_sending(current(), mailing_id, actor()).as_dict()), 202


@api.post("/<int:mailing_id>/schedule")
@requires("ops")
def schedule(mailing_id: int) -> Any:
    """``{"at": "2026-12-01T08:00"}``: German wall-clock time, or an ISO time with offset."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        return _problem(422, NOT_AN_OBJECT, errors={"_body": "Kein Objekt."})
    if not isinstance(data.get("at"), str):
        return _problem(
            422, "Bitte prüfen Sie den Zeitpunkt.", errors={"at": "Erwartet wird ein Zeitpunkt."}
        )
    try:
        at = services.german_time(data["at"])
    except services.MailingRefused as error:
        return _problem(422, "Bitte prüfen Sie den Zeitpunkt.", errors={"at": str(error)})
    return jsonify(services.schedule(current(), mailing_id, at, actor()).as_dict())


@api.post("/<int:mailing_id>/resend")
@requires("ops")
def resend(mailing_id: int) -> Any:
    """Nachsenden to the repaired addresses of accounts whose address hard-bounced."""
    return jsonify({"resent": repair.resend(current(), mailing_id)}), 202


CONTROLS = {"pause": services.pause, "resume": services.resume, "cancel": services.cancel}


@api.post("/<int:mailing_id>/<action>")
@requires("ops")
def control(mailing_id: int, action: str) -> Any:
    if action not in CONTROLS:
        return _problem(404, "Unbekannte Aktion; erlaubt sind pause, resume und cancel.")
    return jsonify(CONTROLS[action](current(), mailing_id).as_dict())


@api.get("/<int:mailing_id>/preview")
@requires("ops")
def preview(mailing_id: int) -> Any:
    shown = services.preview(current(), mailing_id, request.args.get("account"))
    return jsonify(
        {
            "subject": shown.subject,
            "text": shown.text,
            "html": shown.html,
            "company": shown.company,
            "customer_number": shown.customer_number,
        }
    )


@api.post("/<int:mailing_id>/test-send")
@requires("ops")
def test_send(mailing_id: int) -> Any:
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        return _problem(422, NOT_AN_OBJECT, errors={"_body": "Kein Objekt."})
    to = data.get("to") or current_principal().attributes.get("email")
    if not isinstance(to, str) or not to:
        return _problem(422, "Empfänger fehlt.", errors={"to": "Dieses Feld ist erforderlich."})
    account = data.get("account")
    if account is not None and not isinstance(account, str):
        return _problem(
            422, "Ungültiges Konto.", errors={"account": "Erwartet wird eine Kundennummer."}
        )
    try:
        result = services.test_send(current(), mailing_id, to, account)
    except DraftError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    except SmtpUnavailable as error:
        return _problem(503, f"Der Mailserver ist nicht erreichbar: {error}")
    return jsonify({"to": to, "sent": result.sent, "reply": result.reply})


@api.get("/<int:mailing_id>/deliveries")
@requires("ops")
def deliveries(mailing_id: int) -> Any:
    services.get_mailing(current(), mailing_id)
    records = services.search_deliveries(current(), mailing_id, request.args.get("q", ""))
    return jsonify(
        [
            {
                "id": r.id,
                "account_id": r.account_id,
                "customer_number": r.customer_number,
                "address": r.address,
                "reason": r.reason,
                "state": r.state,
                "attempts": r.attempts,
                "smtp_reply": r.smtp_reply,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in records
        ]
    )


def proof_response(mailing_id: int, kind: str) -> Response:
    """The signed proof of delivery, streamed as it is read from the database."""
    runtime = current()
    mailing = services.get_mailing(runtime, mailing_id)
    media = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    return Response(
        stream_with_context(proof.export(runtime, mailing, kind)),
        mimetype=media,
        headers={
            "Content-Disposition": f'attachment; filename="nachweis-mailing-{mailing_id}.{kind}"'
        },
    )


@api.get("/<int:mailing_id>/proof")
@requires("ops")
def proof_export(mailing_id: int) -> Any:
    kind = request.args.get("format", "csv")
    if kind not in proof.FORMATS:
        return _problem(422, "Erlaubt sind format=csv und format=json.")
    return proof_response(mailing_id, kind)


@api.post("/proof/verify")
@requires("ops")
def proof_verify() -> Any:
    try:
        verified = proof.verify(current().settings, request.get_data())
    except proof.ProofInvalid as error:
        return jsonify({"valid": False, "detail": str(error)}), 422
    return jsonify(
        {
            "valid": True,
            "mailing_id": verified.mailing_id,
            "subject": verified.subject,
            "recipients": verified.recipients,
            "exported_at": verified.exported_at,
        }
    )


@api.get("/proof/key")
@requires("ops")
def proof_key() -> Any:
    return jsonify(
        {"algorithm": "Ed25519", "public_key": proof.public_key_text(current().settings)}
    )
