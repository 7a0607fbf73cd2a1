"""Run inside Label Studio's own virtualenv (`.venv-ls/bin/python django_tasks.py TASK`).

Not imported by the walkthrough: it imports Label Studio's Django, which lives in `.venv-ls` only.
Tasks (the environment says where the database is, as for the server):

- `migrate`: create or bring up to date the database (the template a new state folder copies);
- `accounts`: read `{"admin": {...}, "users": [{"email", "password", "token"}]}` as JSON on
  stdin; make each account (the admin first, with the organization when there is none; legacy
  API tokens allowed), set its password and legacy token, put it in the organization; print
  `{email: user id}` as JSON.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys


def _setup() -> None:
    import label_studio

    sys.path.insert(0, str(pathlib.Path(label_studio.__file__).parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
    import django

    django.setup()


def migrate() -> None:
    """Apply Label Studio's migrations to the database."""
    from django.core.management import call_command

    call_command("migrate", "--no-color", verbosity=0)


def accounts(request: dict) -> dict:
    """Make or update the accounts; return their user ids by e-mail."""
    from django.db import transaction
    from organizations.models import Organization
    from rest_framework.authtoken.models import Token
    from users.models import User

    ids = {}
    with transaction.atomic():
        organization = Organization.objects.first()
        for spec in [request["admin"], *request.get("users", [])]:
            user = User.objects.filter(email=spec["email"]).first()
            if user is None:
                user = User.objects.create_user(email=spec["email"], password=spec["password"])
            elif not user.check_password(spec["password"]):
                user.set_password(spec["password"])
            if spec is request["admin"]:
                user.is_staff = user.is_superuser = True
            user.save()
            if organization is None:
                organization = Organization.create_organization(
                    created_by=user, title="Label Studio", legacy_api_tokens_enabled=True
                )
            elif not organization.has_user(user):
                organization.add_user(user)
            if user.active_organization_id != organization.id:
                user.active_organization = organization
                user.save(update_fields=["active_organization"])
            Token.objects.filter(user=user).exclude(key=spec["token"]).delete()
            Token.objects.get_or_create(user=user, key=spec["token"])
            ids[spec["email"]] = user.id
        jwt = organization.jwt
        if not jwt.legacy_api_tokens_enabled:
            jwt.legacy_api_tokens_enabled = True
            jwt.save()
    return ids


def main() -> None:
    """Run the task named on the command line."""
    _setup()
    if sys.argv[1] == "migrate":
        migrate()
    elif sys.argv[1] == "accounts":
        print(json.dumps(accounts(json.load(sys.stdin))))
    else:
        sys.exit(f"unknown task {sys.argv[1]!r}")


if __name__ == "__main__":
    main()
