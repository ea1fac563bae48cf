"""Sign-in metrics: failed passwords and codes, and the lockouts they lead to."""

from __future__ import annotations

from helpdesk import metrics

SIGNIN_FAILURES = metrics.counter(
    "helpdesk_signin_failures_total",
    "Failed sign-in attempts: a wrong password (password) or second-factor code (code)",
    ["step"],
)
SIGNIN_LOCKOUTS = metrics.counter(
    "helpdesk_signin_lockouts_total",
    "Sign-in limits reached (per address, client address or user's codes) within the window",
    ["scope"],
)
