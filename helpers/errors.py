"""Errors the walkthrough raises for problems a user can fix."""

from __future__ import annotations


class WalkthroughError(Exception):
    """Base class for errors that carry a message meant for the user."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it: its kind and message, no traceback (the cell still fails)."""
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class InputError(WalkthroughError, ValueError):
    """A setting or input value breaks a rule; says which, what, why and how to fix it."""

    def __init__(self, setting: str, value: object, rule: str, fix: str) -> None:
        self.setting = setting
        self.value = value
        self.rule = rule
        self.fix = fix
        super().__init__(f"{setting} = {value!r} is not valid: {rule}. Fix: {fix}")


class CredentialsError(WalkthroughError, RuntimeError):
    """The AWS credentials are missing, expired or not valid; says what is wrong and the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"the AWS credentials do not work: {problem}. Fix: {fix}")


class LocalAwsError(WalkthroughError, RuntimeError):
    """The embedded local AWS is missing, unreachable or not safe to write to."""
