"""`make token`: print a development bearer token signed with the local stage's key (no server needed)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from chalicelib.auth import ROLES, mint_dev_token
from chalicelib.settings import Settings
from infra.local.stack import stage_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=ROLES, default="citizen")
    parser.add_argument("--sub", help="user id (default dev-<role>)")
    parser.add_argument("--agency", help="agency code, for officers (e.g. H46.00)")
    parser.add_argument("--hours", type=int, default=12)
    args = parser.parse_args()
    settings = Settings.from_env(stage_environment())
    print(
        mint_dev_token(
            settings,
            role=args.role,
            sub=args.sub or f"dev-{args.role}",
            name=f"Người dùng thử ({args.role})",
            agency=args.agency,
            ttl=timedelta(hours=args.hours),
            now=datetime.now(UTC),
        )
    )


if __name__ == "__main__":
    main()
