"""The portal's HTML pages. Every value shown is escaped here; the task template comes rendered."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from helpers.local.portal.crowd import IMPLEMENTED

STATIC = "/portal/static"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def layout(title: str, body: str, signed_in_as: str = "", base: str = "", csrf: str = "") -> str:
    """A whole page: our stylesheet, a bar with the worker's name and Sign out."""
    who = ""
    if signed_in_as:
        who = (
            f'<span class="who">Signed in as <strong>{_e(signed_in_as)}</strong></span>'
            f'<form method="post" action="{_e(base)}/signout" class="inline">'
            f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
            '<button type="submit" id="sign-out">Sign out</button></form>'
        )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} - Labeling portal (local)</title>"
        f'<link rel="stylesheet" href="{STATIC}/portal.css"></head><body>'
        '<header class="bar"><span class="brand">Labeling portal '
        '<span class="local">local stand-in for Ground Truth\'s worker portal</span></span>'
        f"{who}</header><main>{body}</main></body></html>"
    )


def message(kind: str, text: str) -> str:
    """An error or notice paragraph (escaped), or nothing for an empty text."""
    if not text:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<p class="{kind}" role="{role}" id="{kind}">{_e(text)}</p>'


def sign_in(base: str, csrf: str, error: str = "", username: str = "") -> str:
    """The sign-in form."""
    body = (
        "<h1>Sign in</h1>"
        + message("error", error)
        + f'<form method="post" action="{_e(base)}/signin" class="card">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        '<label>User name <input name="username" id="username" autocomplete="username" '
        f'value="{_e(username)}" required></label>'
        '<label>Password <input name="password" id="password" type="password" '
        'autocomplete="current-password" required></label>'
        '<button type="submit" id="sign-in">Sign in</button></form>'
        '<p class="hint">Use the user name and temporary password of your invitation (in local '
        "mode notebook 02 shows them); the first sign-in asks you for a new password.</p>"
    )
    return layout("Sign in", body)


def new_password(base: str, csrf: str, username: str, error: str = "") -> str:
    """The form of the first sign-in: choose a new password."""
    body = (
        "<h1>Change your password</h1>"
        f"<p>Welcome, {_e(username)}. Your invitation's password was temporary: choose your "
        "own.</p>"
        + message("error", error)
        + f'<form method="post" action="{_e(base)}/new-password" class="card">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        '<label>New password <input name="password" id="new-password" type="password" '
        'autocomplete="new-password" required></label>'
        '<label>Confirm <input name="confirm" id="confirm-password" type="password" '
        'autocomplete="new-password" required></label>'
        '<button type="submit" id="set-password">Set password and sign in</button></form>'
    )
    return layout("New password", body)


def jobs(
    base: str, csrf: str, username: str, found: Sequence[dict[str, Any]], notice: str = ""
) -> str:
    """The jobs with tasks for this worker, each with a Start working button."""
    rows = "".join(
        "<tr>"
        f'<td class="title">{_e(j.get("title") or j.get("job_name"))}</td>'
        f"<td>{_e(j.get('description', ''))}</td>"
        f'<td class="waiting">{_e(j.get("tasks_waiting", ""))}</td>'
        f"<td>{_e(_duration(j.get('time_limit_seconds')))}</td>"
        f'<td><form method="post" action="{_e(base)}/start">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="job" value="{_e(j.get("job_name", ""))}">'
        '<button type="submit" class="start">Start working</button></form></td>'
        "</tr>"
        for j in found
    )
    table = (
        '<table id="jobs"><thead><tr><th>Job</th><th>Description</th><th>Tasks waiting</th>'
        f"<th>Time per task</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        if found
        else '<p id="no-jobs">No labeling job has tasks for you now. Jobs appear here while '
        "they run and have tasks for a team you are in.</p>"
    )
    body = "<h1>Labeling jobs</h1>" + message("notice", notice) + table
    return layout("Jobs", body, username, base, csrf)


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return ""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def task(
    base: str,
    csrf: str,
    username: str,
    shown: Any,
    rendered: str,
    missing: Sequence[str],
    seconds_left: float,
    error: str = "",
) -> str:
    """A task: the job's rendered template, our answer form and the stand-ins' script."""
    progress = (
        f'<p class="progress" id="progress">Task {_e(shown.index)} of {_e(shown.total)} '
        f"&middot; {_e(shown.title)} &middot; time left: {_e(_duration(max(seconds_left, 0)))}"
        "</p>"
    )
    if missing:
        names = ", ".join(f"<{m}>" for m in missing)
        implemented = ", ".join(f"<{m}>" for m in IMPLEMENTED)
        unsupported = message(
            "error",
            f"This task uses {names}, which the local labeling portal does not implement (its "
            f"stand-ins cover {implemented} only), so it cannot be done here. Label this job in "
            "aws mode, or use the elements the local portal covers.",
        ).replace('id="error"', 'id="unsupported"')
        answer_form = ""
    else:
        unsupported = ""
        answer_form = (
            f'<form id="answer-form" method="post" action="{_e(base)}/task">'
            f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
            f'<input type="hidden" name="task" value="{_e(shown.task_id)}">'
            '<input type="hidden" name="answer" id="answer" value=""></form>'
        )
    body = (
        progress
        + message("error", error)
        + unsupported
        + '<p class="error" role="alert" id="crowd-error" hidden></p>'
        + f'<section id="task" data-supported="{"no" if missing else "yes"}">{rendered}</section>'
        + answer_form
        + f'<script src="{STATIC}/crowd.js"></script>'
    )
    return layout(shown.title, body, username, base, csrf)


def done(base: str, csrf: str, username: str, title: str) -> str:
    """No task of this job waits for the worker any more."""
    body = (
        '<h1 id="done">Thank you!</h1>'
        f"<p>You have no more tasks in <strong>{_e(title)}</strong>. Your answers were "
        "submitted.</p>"
        f'<p><a href="{_e(base)}/" id="back-to-jobs">Back to the labeling jobs</a></p>'
    )
    return layout("Done", body, username, base, csrf)


def refused(title: str, text: str, back: str = "") -> str:
    """A refusal (forged form, wrong host, a job not for this worker): what and what to do."""
    link = f'<p><a href="{_e(back)}" id="back">Back</a></p>' if back else ""
    return layout(title, f"<h1>{_e(title)}</h1>" + message("error", text) + link)
