"""`python -m stc_credit serve | migrate | verifier-key | verify ...`."""

from __future__ import annotations

import argparse
import asyncio
import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch the sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m stc_credit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the credit service")
    sub.add_parser("migrate", help="apply the database migrations")
    sub.add_parser("verifier-key", help="print the log's verifier key (public)")
    g = sub.add_parser("generate-key", help="print a new signer key (secret) and its verifier key")
    g.add_argument("--name", default="stc.gov.cn/credit-log", help="key name (the log's origin)")
    v = sub.add_parser("verify", help="verify the live publication log")
    v.add_argument("--grpc", default="127.0.0.1:50054", help="host:port of the credit service")
    v.add_argument("--verifier-key", required=True, help="name+hash+base64 key of the log")
    v.add_argument("--checkpoint", help="a checkpoint note stored earlier (file)")
    v.add_argument(
        "--origin",
        help="the log's origin (required unless --checkpoint gives it; never taken from the server)",
    )
    v.add_argument(
        "--max-entries", type=int, default=1_000_000,
        help="fetch at most this many entries (a signed log beyond it is refused)",
    )  # fmt: skip
    v.add_argument("--save-checkpoint", help="write the latest verified checkpoint here")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from stc_credit.main import main as serve

        serve()
        return 0
    if args.command == "migrate":
        from stc_common.runtime import ServiceSpec, run_migrations

        from stc_credit.config import CreditSettings
        from stc_credit.main import MIGRATIONS

        # migrations need no signer key: a spec of its name and migrations only
        spec = ServiceSpec("credit", MIGRATIONS, [], lambda server, pool: None)
        applied = asyncio.run(run_migrations(CreditSettings(), spec))
        print(f"migrations applied: {len(applied)}")
        return 0
    if args.command == "verifier-key":
        from stc_credit.config import CreditSettings

        print(CreditSettings().published_verifier_key())
        return 0
    if args.command == "generate-key":
        from stc_credit.domain.checkpoint import generate_key

        signer, verifier = generate_key(args.name)
        print(f"STC_LOG_SIGNER_KEY={signer}\nverifier key: {verifier}")
        return 0
    from stc_credit.verifier_cli import run

    return run(
        args.grpc, args.verifier_key, args.checkpoint, args.origin, args.save_checkpoint,
        args.max_entries,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
