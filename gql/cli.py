"""The ``learntrack`` command: serve, migrate, import, token, schema."""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from db import embedded, migrate
from db import engine as db_engine
from domain import content_document, content_import
from domain.demo import DEMO_COURSE_PATH
from domain.errors import ContentImportError
from gql import auth
from gql.settings import Settings

log = logging.getLogger("learntrack")

DEMO_LEARNER_ID = uuid.UUID("00000000-0000-4000-8000-00000000d3e0")
EMBEDDED_DATABASE = "learntrack"


@contextmanager
def database_url(settings: Settings, data_dir: Path | None = None) -> Iterator[str]:
    """DATABASE_URL if set; otherwise an embedded PostgreSQL, stopped at the end if started here."""
    if settings.database_url:
        yield settings.database_url
        return
    directory = data_dir or settings.data_dir or embedded.default_data_dir()
    server = embedded.start(directory)
    try:
        yield embedded.ensure_database(server, EMBEDDED_DATABASE)
    finally:
        server.cleanup()


async def _import(url: str, path: Path, *, check: bool = False) -> str:
    document = content_document.load_document(path)
    database = db_engine.Database(db_engine.create_engine(url, pool_size=1))
    try:
        # A check runs the whole import, database checks included, and rolls it back.
        context = database.rolled_back() if check else database.transaction()
        async with context as conn:
            result = await content_import.import_content(conn, document=document)
    finally:
        await database.dispose()
    return result.summary()


def _exit_cleanly(signum: int, frame: object) -> None:
    # uvicorn shuts down on SIGINT/SIGTERM and then re-raises the signal; turning it into
    # SystemExit lets the embedded PostgreSQL stop in the `finally` below, exit status 0.
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from gql import log_format, workers
    from gql.http_protocol import HTTP_PROTOCOL

    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)

    with database_url(settings, args.data_dir) as url:
        os.environ["DATABASE_URL"] = url
        migrate.upgrade(url)
        if args.demo:
            log.info("demo content: %s", asyncio.run(_import(url, DEMO_COURSE_PATH)))
            token = auth.mint_token(settings, user_id=DEMO_LEARNER_ID)
            # The workers read their settings from the environment: this pre-fills
            # GraphiQL's Headers tab, unless the caller chose headers of their own.
            os.environ.setdefault(
                "LEARNTRACK_GRAPHIQL_DEFAULT_HEADERS",
                json.dumps({"Authorization": f"Bearer {token}"}),
            )
            sys.stdout.write(
                f"\nGraphiQL: http://{args.host}:{args.port}/graphql"
                f" (its Headers tab carries the demo learner's token)\n"
                f"Demo learner token:\n"
                f'  {{"Authorization": "Bearer {token}"}}\n\n'
            )
            sys.stdout.flush()
        return workers.serve(
            args.host,
            args.port,
            args.workers,
            {
                "loop": "uvloop",
                "http": HTTP_PROTOCOL,
                "log_level": "info",
                "log_config": log_format.logging_config(),
                # Our access log (gql/request_log.py) leaves out query strings and tokens.
                "access_log": False,
            },
        )


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with database_url(settings) as url:
        migrate.upgrade(url, args.revision)
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with database_url(settings) as url:
            migrate.upgrade(url)
            summary = asyncio.run(_import(url, args.file, check=args.check))
    except ContentImportError as exc:
        sys.stderr.write(f"{args.file}: refused, nothing was written.\n")
        # Every problem on a line of its own, with its path in the file.
        lines = [f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems]
        sys.stderr.write("\n".join(lines or [str(exc)]) + "\n")
        return 1
    if args.check:
        sys.stdout.write(f"{args.file}: no problems; nothing was written. Importing it would: ")
    sys.stdout.write(summary + "\n")
    return 0


def cmd_recompute(args: argparse.Namespace, settings: Settings) -> int:
    from gql import maintenance

    with database_url(settings) as url:
        migrate.upgrade(url)
        drifted = asyncio.run(
            maintenance.run_recompute(
                url, user_id=args.user, check=args.check, policy=settings.streak_policy
            )
        )
    if args.check:
        sys.stderr.write(f"{drifted} drifted row(s)\n")
        return 1 if drifted else 0
    return 0


def cmd_badges_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from gql import maintenance

    with database_url(settings) as url:
        migrate.upgrade(url)
        awards = asyncio.run(
            maintenance.run_backfill(
                url,
                rule_id=args.rule,
                dry_run=args.dry_run,
                after=args.after,
                policy=settings.streak_policy,
            )
        )
    verb = "would award" if args.dry_run else "awarded"
    for key, count in sorted(awards.items()):
        sys.stdout.write(f"{key}: {verb} {count} learner(s)\n")
    if not awards:
        sys.stdout.write("nothing to award\n")
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    token = auth.mint_token(settings, user_id=args.user, admin=args.admin)
    sys.stdout.write(token + "\n")
    return 0


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from gql.schema import build_schema

    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def cmd_documents_build(args: argparse.Namespace, settings: Settings) -> int:
    from gql import trusted_documents

    try:
        manifest = trusted_documents.build_manifest(args.directory)
    except trusted_documents.ManifestError as error:
        sys.stderr.write(f"learntrack documents build: {error}\n")
        return 1
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="learntrack", description=__doc__)
    root.add_argument(
        "--version", action="version", version=f"%(prog)s {metadata.version('learntrack')}"
    )
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL server")
    serve.add_argument("--demo", action="store_true", help="load the demo course, print a token")
    serve.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="listen port (default 8000)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes")
    serve.add_argument("--data-dir", type=Path, default=None, help="embedded PostgreSQL data")
    serve.set_defaults(handler=cmd_serve)

    migrate_ = commands.add_parser("migrate", help="upgrade the schema")
    migrate_.add_argument(
        "--revision", default="head", help="the Alembic revision to reach (default: head)"
    )
    migrate_.set_defaults(handler=cmd_migrate)

    import_ = commands.add_parser("import", help="import content from a JSON or YAML file")
    import_.add_argument("file", type=Path, help="the content file (.json, .yaml or .yml)")
    import_.add_argument(
        "--check",
        action="store_true",
        help="validate the file against the database and write nothing; exit 1 on problems",
    )
    import_.set_defaults(handler=cmd_import)

    recompute = commands.add_parser(
        "recompute", help="rebuild derived per-user state from the attempts"
    )
    recompute.add_argument("--user", type=uuid.UUID, default=None, help="only this user")
    recompute.add_argument(
        "--check", action="store_true", help="compare only; print drift, exit 1 if any"
    )
    recompute.set_defaults(handler=cmd_recompute)

    badges = commands.add_parser("badges", help="badge maintenance")
    badge_commands = badges.add_subparsers(dest="badges_command", required=True)
    backfill = badge_commands.add_parser(
        "backfill", help="award badges retroactively from existing attempts"
    )
    backfill.add_argument("--rule", type=uuid.UUID, default=None, help="only this rule id")
    backfill.add_argument("--dry-run", action="store_true", help="count only, write nothing")
    backfill.add_argument(
        "--after", type=uuid.UUID, default=None, help="resume after this learner id"
    )
    backfill.set_defaults(handler=cmd_badges_backfill)

    token = commands.add_parser("token", help="print a bearer token for a user")
    token.add_argument("--user", type=uuid.UUID, required=True, help="user id (UUID)")
    token.add_argument("--admin", action="store_true", help="grant the admin role")
    token.set_defaults(handler=cmd_token)

    documents = commands.add_parser("documents", help="trusted documents (an operation allowlist)")
    document_commands = documents.add_subparsers(dest="documents_command", required=True)
    build = document_commands.add_parser(
        "build",
        help="write the manifest of every operation in DIR's .graphql files, for "
        "LEARNTRACK_TRUSTED_DOCUMENTS",
    )
    build.add_argument("directory", type=Path, help="folder of .graphql files (searched deeply)")
    build.add_argument(
        "--output", "-o", type=Path, default=None, help="write here instead of to stdout"
    )
    build.set_defaults(handler=cmd_documents_build)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(handler=cmd_schema)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        args.host = args.host or settings.host
        args.port = args.port or settings.port
        args.workers = args.workers or settings.workers
    return int(args.handler(args, settings))


if __name__ == "__main__":
    sys.exit(main())
