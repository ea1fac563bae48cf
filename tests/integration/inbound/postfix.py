"""A private Postfix instance for a test: its own configuration and queue, loopback ports only.

It is configured as docs/mail-in.md tells an operator: the support domain is a virtual mailbox
domain delivered over LMTP to `helpdesk mail-in serve`, the support mailboxes and our VERP
bounce addresses are the only recipients it takes, and everything else is relayed (here, to
the test's SMTP sink). The test runs as root, as CI does; Postfix's daemons drop to the
`postfix` user that Debian's package creates.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port, wait_until

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SERVICES = """\
{smtpd} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


@dataclass
class PostfixInstance:
    directory: Path
    smtp_port: int

    @property
    def config(self) -> Path:
        return self.directory / "conf"

    def command(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config), *arguments], capture_output=True, text=True
        )

    def running(self) -> bool:
        return self.command("status").returncode == 0

    def log(self) -> str:
        """Postfix's log so far (``maillog_file``), for a failing test's message."""
        path = self.directory / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.command("stop")
        wait_until(lambda: not self.running(), timeout=20, what="Postfix to stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postfix(
    *,
    lmtp_port: int,
    relay_port: int,
    mailboxes: tuple[str, ...],
    max_bytes: int,
    routes: dict[str, int],
) -> PostfixInstance:
    """Start Postfix on a free loopback port; ``routes`` send domains to other local ports."""
    directory = Path(tempfile.mkdtemp(prefix="helpdesk-postfix-"))
    directory.chmod(0o755)  # Postfix's daemons run as the postfix user
    (directory / "conf").mkdir()
    (directory / "queue").mkdir()
    (directory / "data").mkdir()
    shutil.chown(directory / "data", "postfix", "postfix")
    domain = mailboxes[0].rpartition("@")[2]
    (directory / "conf" / "verp.regexp").write_text(
        f"/^bounce-[0-9]+-[0-9a-f]{{10}}@{domain.replace('.', '[.]')}$/ ok\n"
    )
    listed = ", ".join(f"{mailbox}=ok" for mailbox in mailboxes)
    transports = ", ".join(f"{name}=smtp:[127.0.0.1]:{port}" for name, port in routes.items())
    smtp_port = free_port()
    main_cf = f"""\
compatibility_level = 3.6
queue_directory = {directory / "queue"}
data_directory = {directory / "data"}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{domain}
mydomain = {domain}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
relayhost = [127.0.0.1]:{relay_port}
transport_maps = inline:{{ {transports} }}
# As an operator sets it up (docs/mail-in.md):
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = inline:{{ {listed} }}, regexp:{directory / "conf" / "verp.regexp"}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = {max_bytes}
maillog_file_prefixes = {directory}
maillog_file = {directory / "maillog"}
"""
    (directory / "conf" / "main.cf").write_text(main_cf)
    (directory / "conf" / "master.cf").write_text(SERVICES.format(smtpd=f"127.0.0.1:{smtp_port}"))
    instance = PostfixInstance(directory, smtp_port)
    started = instance.command("start")
    if started.returncode != 0:
        raise RuntimeError(f"Postfix did not start: {started.stdout}{started.stderr}")
    wait_until(instance.running, timeout=20, what="Postfix to start")
    return instance
