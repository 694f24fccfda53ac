"""encounter-service serve | migrate"""

import argparse
import sys

from app.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="encounter-service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations, then run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="apply database migrations and exit")
    openapi = sub.add_parser("openapi", help="write the OpenAPI document as YAML")
    openapi.add_argument("--output", default="openapi.yaml")
    args = parser.parse_args(argv)

    if args.command == "openapi":
        from app.openapi import write_openapi

        write_openapi(args.output)
        return 0

    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    if args.command == "migrate":
        print("database is at the latest migration")
        return 0
    import uvicorn

    uvicorn.run("app.asgi:app", host=args.host, port=args.port, workers=args.workers, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
