"""The console and portal at scale: p95 per page at 1,000,000 tickets and at 10,000.

Builds (once; kept between runs) a data set per size in its own PostgreSQL schema of the
database named by ``DATABASE_URL`` with set-based SQL (bench/scale_data.py), then serves the
real app on gunicorn (gthread, keep-alive) against each schema and times every page over HTTP
with one keep-alive client: the queue lists (first page and a deep cursor page), filtered
lists, search, the ticket page with a long thread, the customer's list, the SLA report for a
month; then audience resolution of a mandatory mailing to every account, with the resolving
process's memory before and after.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h_scale \\
        .venv/bin/python bench/scale.py                 # builds missing sets, then measures
    ... bench/scale.py --sizes 10000                    # only the small set
    ... bench/scale.py --rebuild                        # drop and build the sets again

Without a PostgreSQL ``DATABASE_URL`` it prints why it skips and exits 0.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from helpdesk.config import load_settings  # noqa: E402
from helpdesk.runtime import Runtime  # noqa: E402
from tests import scale_data  # noqa: E402

REPEATS = 40
SECRET_KEY = "bench-scale-secret-key-not-for-production"
BUILT_MARK = "bench_scale_built"
INDEXED_TABLES = ("tickets", "ticket_messages", "ticket_events")


def schema_for(size: scale_data.Size) -> str:
    return f"bench_scale_{size.tickets}"


def schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


def app_environment(base_url: str, schema: str, var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "SMTP_URL")}
    env.update(
        DATABASE_URL=schema_url(base_url, schema),
        HELPDESK_VAR_DIR=str(var_dir),
        HELPDESK_ENV="production",
        SECRET_KEY=SECRET_KEY,
        LOG_LEVEL="WARNING",
    )
    return env


# -- building -------------------------------------------------------------------------------


def ensure_built(base_url: str, size: scale_data.Size, var_dir: Path, rebuild: bool) -> None:
    schema = schema_for(size)
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        built = connection.scalar(
            text(
                "SELECT obj_description(oid, 'pg_namespace') = :mark "
                "FROM pg_namespace WHERE nspname = :schema"
            ),
            {"schema": schema, "mark": BUILT_MARK},
        )
        if not built or rebuild:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    env = app_environment(base_url, schema, var_dir)
    subprocess.run(
        [str(Path(sys.executable).parent / "helpdesk"), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    if built and not rebuild:
        print(f"{schema}: built earlier, kept (migrated to the newest schema)")
        return
    engine = create_engine(schema_url(base_url, schema))
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        # Load without the secondary indexes, then create them as the migrations define them.
        indexes = connection.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes AS i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c "
                "WHERE c.conname = i.indexname AND c.connamespace = "
                "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()))"
            ),
            {"tables": list(INDEXED_TABLES)},
        ).all()
        for name, _ in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))

        def report(what: str, seconds: float) -> None:
            print(f"{schema}: {what:<20} {seconds:7.1f} s", flush=True)

        scale_data.build(connection, size, datetime.now(UTC), report)
        for name, definition in indexes:
            began = time.perf_counter()
            connection.execute(text(definition))
            report(f"index {name}", time.perf_counter() - began)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        began = time.perf_counter()
        connection.execute(text("VACUUM ANALYZE"))
        report("vacuum analyze", time.perf_counter() - began)
        connection.execute(text(f"COMMENT ON SCHEMA {schema} IS '{BUILT_MARK}'"))
    engine.dispose()
    print(f"{schema}: built in {time.perf_counter() - started:.0f} s", flush=True)


# -- measuring ------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection, signed in by session for the pages, with the bearer
    token for /api/; ``get`` returns the status, the seconds it took and the body."""

    def __init__(self, port: int, login: scale_data.Login) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {login.token}"}
        _, _, page = self.get("/anmelden")
        found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found, "no CSRF token on /anmelden"
        token = found.group(1).decode()
        form = urlencode({"csrf_token": token, "email": login.email, "password": login.password})
        self.connection.request(
            "POST",
            "/anmelden",
            body=form,
            headers={**self.headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = self.connection.getresponse()
        response.read()
        self._keep_cookie(response)
        assert response.status == 302, f"sign-in of {login.email} answered {response.status}"

    def _keep_cookie(self, response: http.client.HTTPResponse) -> None:
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.headers["Cookie"] = cookie.split(";", 1)[0]

    def get(self, path: str) -> tuple[int, float, bytes]:
        started = time.perf_counter()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        self._keep_cookie(response)
        return response.status, time.perf_counter() - started, body


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def time_pages(
    base_url: str, size: scale_data.Size, var_dir: Path, repeats: int
) -> dict[str, tuple[float, float]]:
    """{page: (p50, p95) in ms} over HTTP against a gunicorn serving the size's schema."""
    env = app_environment(base_url, schema_for(size), var_dir)
    staff, customer, agent_id = scale_data.logins(Runtime(load_settings(env)))
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "4",
            "--keep-alive",
            "30",
            "helpdesk.wsgi:app",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_healthy(port, server)
        clients = {"staff": Client(port, staff), "customer": Client(port, customer)}
        figures = {}
        for page, who, path, expected_status in scale_data.pages(clients["staff"], size, agent_id):
            client = clients[who]
            for n in range(3):  # warm both workers' caches and connections
                client.get(path(n))
            samples = []
            cpu_before = _tree_cpu(server.pid)
            for n in range(repeats):
                status, seconds, body = client.get(path(n))
                if status != expected_status:
                    raise RuntimeError(f"{page}: {path(n)} answered {status}: {body[:300]!r}")
                samples.append(seconds * 1000)
            cpu = (_tree_cpu(server.pid) - cpu_before) / repeats * 1000
            figures[page] = (statistics.median(samples), p95(samples), cpu)
            print(
                f"  {size.tickets:>9,} {page:<40} p95 {figures[page][1]:7.1f} ms,"
                f" app CPU {cpu:5.1f} ms",
                flush=True,
            )
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def _tree_cpu(pid: int) -> float:
    """CPU seconds of gunicorn and its workers: the app's own cost, whatever else runs here."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        times = member.cpu_times()
        total += times.user + times.system
    return total


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(server.stderr.read().decode()[-2000:] if server.stderr else "")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")  # answers (200 or 503): it serves
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


class InProcessClient:
    """The app in this process, through Flask's test client, with ``Client``'s interface."""

    def __init__(self, app: Any, login: scale_data.Login) -> None:
        from tests.integration.accounts.factories import sign_in

        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {login.token}"}
        sign_in(self.client, login.email, login.password)

    def get(self, path: str) -> tuple[int, float, bytes]:
        started = time.perf_counter()
        response = self.client.get(path, headers=self.headers)
        return response.status_code, time.perf_counter() - started, response.get_data()


TABLES_OF_INTEREST = re.compile(
    r"\b(tickets|ticket_messages|ticket_events|ticket_attachments|accounts|contact_persons"
    r"|distribution_list_entries|mailing_deliveries)\b"
)


def explain_pages(base_url: str, size: scale_data.Size, var_dir: Path, output: Path) -> None:
    """Each page's statements on tickets and accounts with EXPLAIN ANALYZE, as Markdown."""
    from helpdesk.app import create_app
    from tests.query_plans import captured, plan, sequential_scans

    env = app_environment(base_url, schema_for(size), var_dir)
    os.environ.update(env)
    staff, customer, agent_id = scale_data.logins(Runtime(load_settings(env)))
    app = create_app(load_settings(env))
    engine = app.extensions["runtime"].db.engine
    clients = {
        "staff": InProcessClient(app, staff),
        "customer": InProcessClient(app, customer),
    }
    lines = [f"<!-- bench/scale.py --explain, {size.tickets:,} tickets -->", ""]
    for page, who, path, expected_status in scale_data.pages(clients["staff"], size, agent_id):
        clients[who].get(path(0))
        with captured(engine) as statements:
            status, _, _ = clients[who].get(path(0))
        assert status == expected_status, (page, status)
        lines += [f"#### {page}", "", f"`GET {path(0)[:100]}`", ""]
        for statement in statements:
            if not statement.reads or not TABLES_OF_INTEREST.search(statement.sql):
                continue
            text_plan = plan(engine, statement, analyze=True)
            scans = sequential_scans(text_plan)
            print(f"  {page:<40} {_execution(text_plan):>10}  seq scans: {sorted(scans) or '-'}")
            lines += ["```", _one_line_sql(statement.sql), "", text_plan, "```", ""]
    output.write_text("\n".join(lines))
    print(f"plans written to {output}")


def _execution(text_plan: str) -> str:
    found = re.search(r"Execution Time: ([\d.]+) ms", text_plan)
    return f"{float(found.group(1)):.1f} ms" if found else "?"


def _one_line_sql(sql: str) -> str:
    return " ".join(sql.split())


AUDIENCE_SCRIPT = """
import json, sys, time
import psutil
from notifications.mailings import audience
from notifications.mailings import services as mailing_services
from notifications.mailings.composing import MailingDraft
from notifications.mailings.models import Mailing, MailingDelivery
from helpdesk.config import load_settings
from helpdesk.runtime import Runtime
from sqlalchemy import delete

runtime = Runtime(load_settings())
process = psutil.Process()
mailing = mailing_services.create_mailing(runtime, MailingDraft(
    product_family="JTL-Wawi", purpose="outage",
    subject="Wartungsfenster 4. Mai // Ausfälle Cloud TSE", body="Bitte beachten Sie."), "bench")
before = process.memory_info().rss
started = time.perf_counter()
with runtime.db.session() as session:
    recipients = audience.resolve(session, session.get(Mailing, mailing.id))
seconds = time.perf_counter() - started
after = process.memory_info().rss
with runtime.db.session() as session:
    session.execute(delete(MailingDelivery).where(MailingDelivery.mailing_id == mailing.id))
    session.execute(delete(Mailing).where(Mailing.id == mailing.id))
print(json.dumps({"seconds": seconds, "recipients": recipients,
                  "rss_before": before, "rss_after": after, "rss_peak": process.memory_info().rss}))
"""


def time_audience(base_url: str, size: scale_data.Size, var_dir: Path) -> dict[str, Any]:
    """Audience resolution of an outage mailing to every account, in a fresh process."""
    env = app_environment(base_url, schema_for(size), var_dir)
    finished = subprocess.run(
        [sys.executable, "-c", AUDIENCE_SCRIPT],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=True,
    )
    return json.loads(finished.stdout.decode().strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--explain", type=Path, help="write each page's plans here, no timing")
    arguments = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql"):
        print("bench/scale.py: skipped, needs DATABASE_URL=postgresql+psycopg://... (its own DB)")
        return 0
    sizes = [scale_data.size_for(int(part)) for part in arguments.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory:
        var_dir = Path(directory)
        for size in sizes:
            ensure_built(base_url, size, var_dir, arguments.rebuild)
        if arguments.build_only:
            return 0
        if arguments.explain:
            explain_pages(base_url, sizes[-1], var_dir, arguments.explain)
            return 0
        results = {}
        for size in sizes:
            print(f"timing {size.tickets:,} tickets ({size.accounts:,} accounts) over HTTP")
            results[size.tickets] = (
                time_pages(base_url, size, var_dir, arguments.repeats),
                time_audience(base_url, size, var_dir),
            )
    print_table(sizes, results)
    return 0


def print_table(sizes: list[scale_data.Size], results: dict[int, Any]) -> None:
    heads = "".join(
        f" | p50 {s.tickets:>9,} | p95 {s.tickets:>9,} | CPU {s.tickets:>9,}" for s in sizes
    )
    print(f"\n| page (ms){' ' * 31}{heads} |")
    print("|" + "---|" * (1 + 3 * len(sizes)))
    for page in results[sizes[0].tickets][0]:
        cells = "".join(
            "".join(f" | {value:13.1f}" for value in results[s.tickets][0][page]) for s in sizes
        )
        print(f"| {page:<40}{cells} |")
    print()
    for size in sizes:
        audience = results[size.tickets][1]
        print(
            f"audience resolution, {size.accounts:,} accounts: {audience['recipients']:,} "
            f"recipients in {audience['seconds']:.2f} s; resolving process RSS "
            f"{audience['rss_before'] / 2**20:.0f} -> {audience['rss_after'] / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    sys.exit(main())
