"""The `um-service` command: serve the API, and manage the database schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .settings import REPO_ROOT, Settings, get_settings


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `um-service` console script."""
    parser = argparse.ArgumentParser(prog="um-service", description="Payer-side prior authorization (PAS 2.2).")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service (applies migrations first)")
    serve.add_argument("--host", help="address to listen on (UM_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (UM_PORT, default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL for more than one)")
    serve.add_argument("--no-upgrade", action="store_true", help="do not apply database migrations at start")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every migration")

    rules = commands.add_parser("rules", help="business rules: check, test, replay")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser("check", help="check the rule files: errors, conflicts, unreachable rules")
    check.add_argument("--dir", type=Path, help="rules directory (UM_RULES_DIR, default rules/)")
    test = rules_commands.add_parser("test", help="run the rule pack's test cases (rules/tests) and print a table")
    test.add_argument("--dir", type=Path, help="rules directory (UM_RULES_DIR, default rules/)")
    replay = rules_commands.add_parser("replay", help="a stored case under its original and the current rules")
    replay.add_argument("--case", required=True, help="case id")

    clients = commands.add_parser("clients", help="API clients (providers, portals, staff)")
    clients_commands = clients.add_subparsers(dest="clients_command", required=True)
    add = clients_commands.add_parser("add", help="register or replace a client")
    add.add_argument("client_id")
    add.add_argument(
        "--role", required=True, choices=["provider", "portal", "nurse", "medical_director", "admin", "ehr"]
    )
    add.add_argument("--issuer", help="ehr: the iss its CDS Hooks JWTs carry")
    add.add_argument(
        "--fhir-server", action="append", default=[], help="ehr: a FHIR base we may read from (repeatable)"
    )
    add.add_argument("--org", help="the provider's organisation identifier (NPI or ISA06 sender id)")
    add.add_argument("--reviewer", help="the reviewer a nurse or medical director client acts as (default: its id)")
    key = add.add_mutually_exclusive_group(required=True)
    key.add_argument("--public-key", type=Path, help="PEM file of the client's RSA or EC public key (private_key_jwt)")
    key.add_argument("--jwks-url", help="ehr: the URL of its JWK Set (instead of --public-key)")
    key.add_argument("--secret", help="a client secret of 16 or more characters")
    key.add_argument("--generate-secret", action="store_true", help="generate a secret and print it once")
    clients_commands.add_parser("list", help="list clients: role, organisation, reviewer, credential, active")
    disable = clients_commands.add_parser("disable", help="stop a client: no new tokens, its tokens refused")
    disable.add_argument("client_id")

    members = commands.add_parser("members", help="the member registry")
    members_commands = members.add_subparsers(dest="members_command", required=True)
    load = members_commands.add_parser(
        "import", help="load enrollment feeds (FHIR Bundle or NDJSON); a file is all or nothing"
    )
    load.add_argument("paths", nargs="+", type=Path)

    report = commands.add_parser("report", help="public reports")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    cms = report_commands.add_parser("cms-0057", help="CMS-0057-F figures as JSON, CSV and xlsx files")
    cms.add_argument("--from", dest="start", required=True, help="first day (YYYY-MM-DD)")
    cms.add_argument("--to", dest="end", required=True, help="day after the last (YYYY-MM-DD)")
    cms.add_argument("--entity", help="line of business (Coverage.type code); all when omitted")
    cms.add_argument("--out", type=Path, default=Path("."), help="directory for the files")

    openapi = commands.add_parser("openapi", help="write the OpenAPI document (openapi/openapi.json)")
    openapi.add_argument("--output", default=str(REPO_ROOT / "openapi" / "openapi.json"))

    args = parser.parse_args(argv)
    settings = get_settings()
    from .logs import configure

    configure(settings.log_level)

    if args.command == "db":
        return _upgrade()
    if _needs_database(args) and (problem := _database_problem(settings)) is not None:
        print(problem, file=sys.stderr)
        return 2
    if args.command == "rules":
        from . import rule_commands

        directory = getattr(args, "dir", None) or settings.rules_dir
        if args.rules_command == "check":
            return rule_commands.check(directory)
        if args.rules_command == "test":
            return rule_commands.test(directory)
        return rule_commands.replay(settings, args.case)
    if args.command == "clients":
        return _clients(settings, args)
    if args.command == "report":
        return _report(settings, args)
    if args.command == "members":
        return _import_members(settings, args.paths)
    if args.command == "openapi":
        Path(args.output).write_text(openapi_document())
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    if args.command == "serve":
        from . import rule_commands

        if rule_commands.check(settings.rules_dir, quiet=True) != 0:
            return 1
        if not args.no_upgrade:
            _upgrade()
        import os

        from .serving import run

        os.environ["UM_LOG_JSON"] = "true"  # worker processes read their settings from the environment

        run(
            "um_service.app:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=args.workers,
            log_level=settings.log_level,
            log_config=None,
        )
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def openapi_document() -> str:
    """The service's OpenAPI document as committed: stable key order, two-space indent, final newline."""
    import json

    from .app import create_app

    app = create_app(Settings(database_url="sqlite://"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def _clients(settings: Settings, args: argparse.Namespace) -> int:
    import secrets
    from datetime import UTC, datetime

    from sqlalchemy import select

    from .auth.clients import ClientError, disable, register
    from .db.models import Client
    from .db.session import Database

    database = Database(settings.database_url)
    try:
        if args.clients_command == "list":
            with database.transaction() as session:
                print("client\trole\torganisation\treviewer\tcredential\tactive")
                for c in session.scalars(select(Client).order_by(Client.id)):
                    credential = "jwks" if c.jwks_url else "key" if c.public_key else "secret"
                    active = "yes" if c.active else "no"
                    print(f"{c.id}\t{c.role}\t{c.organization or '-'}\t{c.reviewer_id or '-'}\t{credential}\t{active}")
            return 0
        if args.clients_command == "disable":
            with database.transaction() as session:
                found = disable(session, args.client_id)
            if not found:
                print(f"no client {args.client_id}", file=sys.stderr)
                return 2
            print(f"client {args.client_id} disabled: no new tokens; its unexpired tokens are refused", file=sys.stderr)
            return 0
        secret = secrets.token_urlsafe(32) if args.generate_secret else args.secret
        public_key = args.public_key.read_text() if args.public_key else None
        if secret is not None and len(secret) < 16:
            print("a secret needs 16 or more characters", file=sys.stderr)
            return 2
        if args.role == "ehr":
            return _register_ehr(database, args, public_key)
        try:
            with database.transaction() as session:
                register(
                    session,
                    client_id=args.client_id,
                    role=args.role,
                    organization=args.org,
                    reviewer_id=args.reviewer,
                    public_key=public_key,
                    secret=secret,
                    now=datetime.now(UTC),
                )
        except ClientError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
        print(f"client {args.client_id} registered as {args.role}", file=sys.stderr)
        if args.generate_secret:
            print(secret)
        return 0
    finally:
        database.dispose()


def _register_ehr(database: Any, args: argparse.Namespace, public_key: str | None) -> int:
    from datetime import UTC, datetime

    from .auth.cds_hooks import register_ehr
    from .auth.clients import ClientError

    if not args.issuer:
        print("an ehr client needs --issuer (the iss of its CDS Hooks JWTs)", file=sys.stderr)
        return 2
    try:
        with database.transaction() as session:
            register_ehr(
                session,
                client_id=args.client_id,
                issuer=args.issuer,
                public_key=public_key,
                jwks_url=args.jwks_url,
                fhir_servers=args.fhir_server,
                now=datetime.now(UTC),
            )
    except ClientError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"client {args.client_id} registered as ehr (issuer {args.issuer})", file=sys.stderr)
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, date, datetime, time

    from .db.session import Database
    from .decision import load_directory
    from .reports import cms

    start = datetime.combine(date.fromisoformat(args.start), time(), UTC)
    end = datetime.combine(date.fromisoformat(args.end), time(), UTC)
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            report = cms.cms_0057(
                session,
                start=start,
                end=end,
                entity=args.entity,
                rules=load_directory(settings.rules_dir),
                partial_as=settings.report_partial_as,
            )
    finally:
        database.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (
        args.out / f"cms-0057-{args.start}-{args.end}"
        if not args.entity
        else args.out / f"cms-0057-{args.entity}-{args.start}-{args.end}"
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    stem.with_suffix(".csv").write_text(cms.as_csv(report))
    stem.with_suffix(".xlsx").write_bytes(cms.as_xlsx(report))
    print(f"wrote {stem}.json, .csv and .xlsx", file=sys.stderr)
    return 0


def _import_members(settings: Settings, paths: list[Path]) -> int:
    """Import each file in its own transaction; a file with problems is reported line by line and not stored."""
    from datetime import UTC, datetime

    from .coverage import registry
    from .db.session import Database
    from .fhir.enrollment import read_feed

    database = Database(settings.database_url)
    failed = 0
    try:
        for path in paths:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                failed += 1
                print(f"{path}: cannot be read ({exc.strerror})", file=sys.stderr)
                continue
            feed = read_feed(raw, name=str(path))
            if feed.problems:
                failed += 1
                for problem in feed.problems:
                    print(f"{problem.expression}: {problem.diagnostics}", file=sys.stderr)
                print(f"{path}: not imported ({len(feed.problems)} problem(s))", file=sys.stderr)
                continue
            with database.transaction() as session:
                stored = registry.store(session, feed, now=datetime.now(UTC))
            print(f"{path}: {stored.members} member(s), {stored.coverages} coverage(s)", file=sys.stderr)
    finally:
        database.dispose()
    return 1 if failed else 0


def _needs_database(args: argparse.Namespace) -> bool:
    """Commands that read or write the service's tables (serve and `db upgrade` create them)."""
    return args.command in ("clients", "report", "members") or (
        args.command == "rules" and args.rules_command == "replay"
    )


def _database_problem(settings: Settings) -> str | None:
    from .db.migrate import unready

    problem = unready(settings.database_url)
    if problem is None:
        return None
    return (
        f"{problem} ({_redacted(settings.database_url)}): set UM_DATABASE_URL to the service's database, "
        "or create it with `um-service db upgrade`"
    )


def _upgrade() -> int:
    from .db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, settings.migrations_dir)
    print(f"database schema is up to date ({_redacted(settings.database_url)})", file=sys.stderr)
    return 0


def _redacted(url: str) -> str:
    """A database URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
