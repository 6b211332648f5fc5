"""`hourproof ...`: one argparse tree. Each feature module adds its own subcommands through
`add_commands(subparsers)`, so this file only wires them together."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hourproof",
        description="hourproof: verified attendance and subsidy rules for vocational training",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from server.cli import app as cli_app
    from server.cli import faces as cli_faces
    from server.cli import keys as cli_keys
    from server.cli import policy as cli_policy
    from server.cli import retention as cli_retention

    cli_policy.add_commands(sub)
    cli_app.add_commands(sub)
    cli_retention.add_commands(sub)
    cli_faces.add_commands(sub)
    cli_keys.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
