"""Proof of delivery: a signed export of every record and attempt, checked by the command."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from email import message_from_bytes

from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.db import utcnow
from notifications.mailings import bounces, dispatch
from notifications.mailings import services as mailing_services
from tests.integration.accounts.factories import make_staff, sign_in, token_for
from tests.integration.notifications.factories import make_account, make_mailing


def _mailing_with_every_outcome(runtime, work, smtp_sink) -> int:
    """Four accounts: sent, deferred then sent, failed, and sent then hard-bounced."""
    for name in ("gesendet", "spaeter", "abgelehnt", "bounce"):
        make_account(runtime, first_contact=f"info@{name}.example")
    smtp_sink.replies.extend(["250 OK", "451 4.3.0 try again later", "550 5.1.1 no such user"])
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    dispatch.tick(runtime, now=utcnow() + timedelta(hours=1))
    work()
    bounced = next(m for m in smtp_sink.wait_for(3) if m.rcpt_tos == ("info@bounce.example",))
    with runtime.db.session() as session:
        assert bounces.record_bounce(
            session,
            message_id=message_from_bytes(bounced.data)["Message-ID"],
            status="5.1.1",
            diagnostic="user unknown",
        )
    return mailing_id


def test_proof_lists_every_attempt_and_the_command_rejects_one_changed_byte(
    runtime, work, smtp_sink, cli_env, tmp_path
):
    mailing_id = _mailing_with_every_outcome(runtime, work, smtp_sink)
    runner = CliRunner(env=cli_env)
    out = tmp_path / "nachweis.csv"

    exported = runner.invoke(main, ["mailings", "proof", str(mailing_id), "--out", str(out)])
    checked = runner.invoke(main, ["mailings", "verify-proof", str(out)])

    assert exported.exit_code == 0, exported.output
    assert checked.exit_code == 0, checked.output
    assert f"valid proof of mailing {mailing_id}" in checked.output
    assert "4 recipients" in checked.output
    lines = out.read_text(encoding="utf-8").splitlines()
    rows = {r["address"]: r for r in csv.DictReader(io.StringIO("\n".join(lines[1:-2])))}
    assert {a: (r["state"], r["bounce_status"], r["bounce_class"]) for a, r in rows.items()} == {
        "info@gesendet.example": ("sent", "", ""),
        "info@spaeter.example": ("sent", "", ""),
        "info@abgelehnt.example": ("failed", "", ""),
        "info@bounce.example": ("bounced", "5.1.1", "hard"),
    }
    later = rows["info@spaeter.example"]["attempts"].split("; ")
    assert [a.split()[1:3] for a in later] == [["deferred", "451"], ["sent", "250"]]
    assert "4.3.0 try again later" in later[0]
    assert rows["info@abgelehnt.example"]["attempts"].split()[1:3] == ["failed", "550"]
    assert rows["info@gesendet.example"]["reason"] == "first_contact"
    assert rows["info@bounce.example"]["message_id"].startswith(f"<mailing.{mailing_id}.")

    data = bytearray(out.read_bytes())
    position = data.index(b"info@abgelehnt.example") + 5
    data[position] ^= 0x01
    out.write_bytes(bytes(data))
    tampered = runner.invoke(main, ["mailings", "verify-proof", str(out)])

    assert tampered.exit_code == 1
    assert len(tampered.output.strip().splitlines()) == 1
    assert "NOT valid" in tampered.output


def test_api_streams_the_json_proof_and_verifies_it(client, runtime, work, smtp_sink):
    mailing_id = _mailing_with_every_outcome(runtime, work, smtp_sink)
    ops = make_staff(runtime, "ops")
    headers = {"Authorization": f"Bearer {token_for(runtime, ops, 'ops')}"}

    response = client.get(f"/api/v1/mailings/{mailing_id}/proof?format=json", headers=headers)

    assert response.status_code == 200
    assert response.is_streamed
    body = response.get_data()
    document = json.loads(body)
    assert document["mailing"]["mailing_id"] == mailing_id
    assert document["recipient_count"] == 4
    assert sorted(r["state"] for r in document["recipients"]) == [
        "bounced",
        "failed",
        "sent",
        "sent",
    ]
    verdict = client.post("/api/v1/mailings/proof/verify", data=body, headers=headers)
    assert verdict.get_json()["valid"] is True
    forged = body.replace(b'"failed"', b'"sent"  ', 1)
    verdict = client.post("/api/v1/mailings/proof/verify", data=forged, headers=headers)
    assert verdict.status_code == 422 and verdict.get_json()["valid"] is False


def test_ops_page_offers_the_proof_as_a_download(client, runtime, work, smtp_sink):
    mailing_id = _mailing_with_every_outcome(runtime, work, smtp_sink)
    sign_in(client, make_staff(runtime, "ops").email)

    page = client.get(f"/ops/mailings/{mailing_id}").get_data(as_text=True)
    download = client.get(f"/ops/mailings/{mailing_id}/nachweis.csv")

    assert f"/ops/mailings/{mailing_id}/nachweis.csv" in page
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert b"info@bounce.example" in download.get_data()
