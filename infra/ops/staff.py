"""The staff of the platform (the people who use the console, and the reviewers' robots):

    python -m infra.ops staff add --name N --email E [--webhook URL [--webhook-secret-param P]] --role R
    python -m infra.ops staff list [--role R]
    python -m infra.ops staff deactivate ID      # their sessions, sign-in and review links end at once
    python -m infra.ops staff link ID            # a one-time console sign-in link (the first admin)
    python -m infra.ops staff migrate-reviewers  # once, after the upgrade: reviewers become staff

Roles: reviewer, moderator, editor, admin. Ids, names and e-mails are unique among staff. Every
member signs in with their e-mail (SNS asks them to confirm the subscription first); a reviewer
may instead be a group robot (`--webhook` without `--email`): it gets new-submission links and
can never sign in. A robot's signing secret is the name of an SSM SecureString parameter under
`/hcp/<stage>/reviewer-webhook/`, never the secret itself.
"""

from __future__ import annotations

import argparse
import sys

from shared import errors, wiring
from shared.domain.staff import ROLES, StaffMember
from shared.services.staff import Migrated

# The local seed's members, one of each role, reached through the local outbox.
DEMO_STAFF = {
    "demo-reviewer": ("演示审核员", "reviewer"),
    "demo-moderator": ("演示评论管理员", "moderator"),
    "demo-editor": ("演示内容编辑", "editor"),
    "demo-admin": ("演示管理员", "admin"),
}
DEMO_EMAIL_DOMAIN = "example.invalid"


def add(
    name: str,
    role: str,
    email: str | None = None,
    webhook: str | None = None,
    webhook_secret_param: str | None = None,
    staff_id: str | None = None,
) -> StaffMember:
    return wiring.services().staff_directory.add(
        name, role, email, webhook, webhook_secret_param, staff_id=staff_id
    )


def listing(role: str | None = None) -> list[StaffMember]:
    return [m for m in wiring.services().staff_directory.listing() if role is None or m.role == role]


def deactivate(staff_id: str) -> StaffMember:
    return wiring.services().staff_directory.deactivate(staff_id)


def link(staff_id: str) -> str:
    return wiring.services().staff_directory.print_link(staff_id)


def migrate_reviewers() -> list[Migrated]:
    from shared.store.staff import legacy_reviewers

    return wiring.services().staff_directory.migrate(legacy_reviewers())


def seed_demo() -> None:
    """The local seed's members (idempotent): `demo-<role>`, their e-mail channel the outbox."""
    for staff_id, (name, role) in DEMO_STAFF.items():
        add(name, role, email=f"{staff_id}@{DEMO_EMAIL_DOMAIN}", staff_id=staff_id)


def channels(member: StaffMember) -> str:
    return ",".join(c for c, v in (("email", member.email), ("webhook", member.webhook)) if v) or "none"


def explain(exc: errors.DomainError) -> str:
    """The error in the operator's words (English), one line per field at fault."""
    if exc.fields:
        return "\n".join(f"--{f.field}: {f.describe('en')['message']}" for f in exc.fields)
    return exc.message("en")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops staff")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="add an active staff member")
    adding.add_argument("--name", required=True)
    adding.add_argument("--email")
    adding.add_argument("--webhook")
    adding.add_argument("--webhook-secret-param")
    adding.add_argument("--role", required=True, choices=ROLES)
    listed = commands.add_parser("list", help="list staff members")
    listed.add_argument("--role", choices=ROLES)
    off = commands.add_parser("deactivate", help="deactivate a member: their sessions and links end")
    off.add_argument("staff_id")
    printed = commands.add_parser("link", help="print a one-time console sign-in link for a member")
    printed.add_argument("staff_id")
    commands.add_parser("migrate-reviewers", help="make the reviewers of the old table staff (idempotent)")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except errors.NotFound:
        print(f"no staff member {getattr(args, 'staff_id', '')}", file=sys.stderr)
        return 1
    except errors.DomainError as exc:
        print(explain(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from shared.edge import upstream_error

        if upstream_error(exc) is None:
            raise
        print(f"AWS is busy or unreachable ({type(exc).__name__}): run the command again", file=sys.stderr)
        return 3


def _run(args: argparse.Namespace) -> int:
    if args.command == "add":
        member = add(args.name, args.role, args.email, args.webhook, args.webhook_secret_param)
        note = " (e-mail subscription pending confirmation)" if member.subscription_arn else ""
        print(f"added {member.staff_id} ({member.role}){note}")
    elif args.command == "list":
        for m in listing(args.role):
            state = "active" if m.active else "inactive"
            print(f"{m.staff_id:26}  {m.role:9}  {state:8}  {channels(m):13}  {m.name}")
    elif args.command == "deactivate":
        member = deactivate(args.staff_id)
        print(f"deactivated {member.staff_id}")
    elif args.command == "link":
        print(link(args.staff_id))
        print("one-time, valid 15 minutes: hand it to the member only", file=sys.stderr)
    else:
        results = migrate_reviewers()
        for r in results:
            notes = f" ({', '.join(r.notes)})" if r.notes else ""
            print(f"{r.staff_id}: {r.result}{notes}")
        if any(r.result not in ("added", "kept") for r in results):
            return 1
        print(f"{len(results)} reviewer(s) are staff members")
    return 0
