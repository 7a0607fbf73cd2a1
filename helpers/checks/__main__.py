"""`python -m helpers.checks [--create-missing]`: check the setup (creating what is missing)."""

from __future__ import annotations

import argparse
import sys

from helpers import cognito, provision
from helpers.aws import connect
from helpers.checks import ready, run_checks, text_table
from helpers.errors import CredentialsError, WalkthroughError
from helpers.settings import load


def main(argv: list[str] | None = None) -> int:
    """Run the checks with the effective settings; exit 1 when one fails."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.checks",
        description="Check the AWS and Kubeflow setup the pipeline needs (settings as for the "
        "notebooks: settings.json, WALKTHROUGH_* variables, defaults).",
    )
    parser.add_argument(
        "--create-missing",
        action="store_true",
        help="first create what is missing (an administrator's step; existing pieces are left "
        "as they are)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load()
        aws = connect(settings, check_credentials=False)  # check 1 reports bad credentials
    except WalkthroughError as exc:
        print(f"Cannot run the checks: {exc}", file=sys.stderr)
        return 1
    print(
        f"Setup checks: mode={settings.mode} region={settings.region} "
        f"bucket={settings.bucket} prefix={settings.prefix}\n"
    )
    if args.create_missing:
        try:
            steps = provision.create_missing(settings, aws)
        except CredentialsError as exc:
            print(f"Nothing was created: {exc.problem} (check 1 below says how to fix it)\n")
        else:
            print(provision.text_report(steps) + "\n")
    if not settings.label_studio:  # Label Studio's accounts label: no Ground Truth workforce
        settings = cognito.with_workforce_pool(settings, aws)
    results = run_checks(settings, aws)
    print(text_table(results))
    return 0 if ready(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
