"""The local labeling portal: Ground Truth's worker side, served by the local AWS on loopback.

A worker opens `http://<SubDomain>` of the private workforce, signs in as one of its Cognito
users (the first sign-in sets a new password), sees the labeling jobs with tasks for the teams
they are in, and does the tasks one at a time on the job's own worker template, rendered as
`RenderUiTemplate` renders it, with this project's stand-ins for the crowd HTML elements.
"""

from helpers.local.portal.app import Portal
from helpers.local.portal.outbox import Outbox

__all__ = ["Outbox", "Portal"]
