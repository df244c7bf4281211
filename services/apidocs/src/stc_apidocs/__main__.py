"""python -m stc_apidocs asyncapi|openapi [--check] [--out PATH]: write (or check) the AsyncAPI
document of the events or the OpenAPI document of the edge's JSON routes."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the generator named by the first argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("asyncapi", "openapi"):
        print(__doc__, file=sys.stderr)
        return 2
    if args[0] == "asyncapi":
        from stc_apidocs.asyncapi import main as run
    else:
        from stc_apidocs.openapi import main as run
    return run(args[1:])


if __name__ == "__main__":
    sys.exit(main())
