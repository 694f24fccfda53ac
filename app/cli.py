"""encounter-service serve | migrate | openapi | keys create|list|revoke | batch cut|list|show|x12 |
uploads run|work | x12 validate FILE"""

import argparse
import json
import sys

from app.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="encounter-service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations, then run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="apply database migrations and exit")
    openapi = sub.add_parser("openapi", help="write the OpenAPI document as YAML")
    openapi.add_argument("--output", default="openapi.yaml")

    batch = sub.add_parser("batch", help="cut and inspect 837P batches").add_subparsers(dest="action", required=True)
    cut = batch.add_parser("cut", help="cut a batch from the queued encounters")
    cut.add_argument("--mode", choices=["encounter", "claim"], default="encounter")
    cut.add_argument("--payer-id")
    cut.add_argument("--max-claims", type=int, default=5000)
    batch.add_parser("list", help="released batches, oldest first")
    batch.add_parser("show", help="one batch's metadata").add_argument("id")
    batch.add_parser("x12", help="write a batch's exact 837P bytes to stdout").add_argument("id")

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=["provider", "pipeline", "finance", "ops", "admin"])
    create.add_argument("--npi", action="append", default=[], help="billing NPI a provider key acts for (repeat)")
    create.add_argument("--expires", help="expiry date or instant, ISO 8601 (UTC when no zone is given)")
    create.add_argument("--label", help="who or what the key is for")
    keys.add_parser("list", help="every key: id, role, NPIs, expiry, revoked")
    keys.add_parser("revoke", help="revoke a key now").add_argument("key_id")

    uploads = sub.add_parser("uploads", help="spreadsheet upload jobs").add_subparsers(dest="action", required=True)
    uploads.add_parser("run", help="run every queued upload, and every running one whose worker stopped "
                                   "reporting (UPLOAD_STALE_AFTER_SECONDS), then exit")
    uploads.add_parser("work", help="keep running as an upload worker (for API nodes with UPLOAD_WORKER=false)")

    x12 = sub.add_parser("x12", help="X12 tools").add_subparsers(dest="action", required=True)
    x12.add_parser("validate", help="validate an 837P file with pyx12; exit 0 when clean, 1 otherwise").add_argument(
        "file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        from app.openapi import write_openapi

        write_openapi(args.output)
        return 0
    if args.command == "x12":
        return _x12_validate(args.file)

    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    if args.command == "migrate":
        print("database is at the latest migration")
        return 0
    if args.command == "batch":
        return _batch(args, settings)
    if args.command == "keys":
        return _keys(args, settings)
    if args.command == "uploads":
        return _uploads(args, settings)
    from app.logs import logging_config
    from app.serve import serve

    serve(args.host, args.port, args.workers, logging_config(settings.log_level.upper()))
    return 0


def _x12_validate(path: str) -> int:
    from app.x12.pyx12_check import validate_837

    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
        return 1
    report = validate_837(text)
    if report.ok:
        print(f"{path}: OK, no findings")
        return 0
    if report.crashed:
        print(f"{path}: pyx12 could not check this file ({report.crashed})")
    for f in report.findings:
        print(f"{path}: {f.describe()}")
    print(f"{path}: FAILED, {len(report.findings)} finding(s)")
    return 1


def _keys(args, settings) -> int:
    from datetime import UTC, datetime

    from app.auth import keys
    from app.db import Database

    db = Database(settings.database_url, settings.sqlite_busy_timeout_ms)
    with db.sessionmaker() as session:
        if args.action == "create":
            expires = None
            if args.expires:
                try:
                    expires = datetime.fromisoformat(args.expires)
                except ValueError:
                    print(f"--expires {args.expires!r} is not an ISO 8601 date or instant", file=sys.stderr)
                    return 2
                expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            try:
                new = keys.create_key(session, args.role, args.npi, expires, args.label)
            except keys.InvalidKeyRequest as exc:
                print(str(exc), file=sys.stderr)
                return 2
            print(f"key id {new.row.key_id}, role {new.row.role}; the key is shown once, store it now:",
                  file=sys.stderr)
            print(new.token)
            return 0
        if args.action == "list":
            for k in keys.list_keys(session):
                state = "revoked" if k.revoked_at else ("expired" if k.expires_at and k.expires_at <= datetime.now(UTC)
                                                        else "active")
                print(f"{k.key_id}  {k.role:8} {state:8} npis={','.join(k.npis) or '-'} "
                      f"expires={k.expires_at.isoformat() if k.expires_at else '-'} label={k.label or '-'}")
            return 0
        row = keys.revoke_key(session, args.key_id)
        if row is None:
            print(f"no key {args.key_id}", file=sys.stderr)
            return 1
        print(f"key {row.key_id} revoked at {row.revoked_at.isoformat()}")
        return 0


def _batch(args, settings) -> int:
    from sqlalchemy import select

    from app.batches import service
    from app.batches.models import BatchRow
    from app.batches.routes import batch_out
    from app.db import Database

    db = Database(settings.database_url, settings.sqlite_busy_timeout_ms)
    if args.action == "cut":
        try:
            batch = service.cut_batch(db.sessionmaker, service.CutRequest(
                mode=args.mode, payer_id=args.payer_id, max_claims=args.max_claims), settings.cut_options())
        except service.NothingToCut as exc:
            print(str(exc), file=sys.stderr)
            return 1
        print(batch_out(batch).model_dump_json(indent=2))
        return 0 if batch.status == "released" else 1
    with db.sessionmaker() as session:
        if args.action == "list":
            for b in session.scalars(select(BatchRow).order_by(BatchRow.id)):
                print(f"{b.public_id}  {b.status:9} {b.mode:9} claims={b.claim_count:<6} isa13={b.isa13:09d}")
            return 0
        batch = session.scalar(select(BatchRow).where(BatchRow.public_id == args.id))
        if batch is None:
            print(f"no batch {args.id}", file=sys.stderr)
            return 1
        if args.action == "show":
            print(json.dumps(batch_out(batch).model_dump(), indent=2))
            return 0
        if batch.status != "released":
            print(f"batch {args.id} is {batch.status}; nothing to download", file=sys.stderr)
            return 1
        from app.batches.service import iter_content

        for part in iter_content(db.sessionmaker, batch.id):
            sys.stdout.buffer.write(part)
        sys.stdout.buffer.flush()
        return 0


def _uploads(args, settings) -> int:
    import signal
    import threading
    from datetime import timedelta

    from app.uploads.worker import job_context_from_settings, new_worker_id, run_pending

    job, database = job_context_from_settings(settings, new_worker_id("cli"))
    stale_after = timedelta(seconds=settings.upload_stale_after_seconds)
    if args.action == "run":
        print(f"{run_pending(job, stale_after)} upload(s) run")
        database.engine.dispose()
        return 0
    job.stop = threading.Event()
    # Stop between invoices on Ctrl-C or SIGTERM; the job goes back to the queue and is resumed later.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: job.stop.set())
    while not job.stop.is_set():
        run_pending(job, stale_after)
        job.stop.wait(settings.upload_poll_seconds)
    database.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
