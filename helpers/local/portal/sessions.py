"""The portal's sessions: a random id in an HTTP-only, same-site cookie; the rest stays here.

Every session, signed in or not, carries its own anti-forgery token, which every form of the
portal posts back (`Session.forgery_checked`). Signing in gives a new session id (a cookie set
before sign-in cannot be used to ride the signed-in session). Sessions end after `LIFETIME`
seconds, and at most `MAX_SESSIONS` are kept (the oldest go first).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

LIFETIME = 8 * 3600.0
MAX_SESSIONS = 500


@dataclass
class Session:
    """One browser's session with the portal of one workforce."""

    sid: str
    portal_id: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.monotonic)
    username: str | None = None  # set once signed in
    groups: tuple[str, ...] = ()
    challenge: dict[str, str] | None = None  # NEW_PASSWORD_REQUIRED: username and Cognito session
    task: Any = None  # the task leased to this person and shown now
    notice: str = ""  # a message for the next page (after a redirect)
    finished: str = ""  # the title of the job whose tasks the worker just finished

    def forgery_checked(self, token: str | None) -> bool:
        """True when a posted anti-forgery token is this session's."""
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf.encode())

    def expired(self) -> bool:
        """True once the session has lived `LIFETIME` seconds."""
        return time.monotonic() - self.created > LIFETIME


@dataclass
class Sessions:
    """The live sessions, by id (thread-safe)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sessions: dict[str, Session] = field(default_factory=dict)

    def find(self, sid: str | None, portal_id: str) -> Session | None:
        """The live session with this id for this portal, or None."""
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None or session.portal_id != portal_id:
                return None
            if session.expired():
                del self._sessions[sid]
                return None
            return session

    def new(self, portal_id: str) -> Session:
        """Start a session (not signed in)."""
        session = Session(secrets.token_urlsafe(32), portal_id)
        with self._lock:
            self._sessions[session.sid] = session
            while len(self._sessions) > MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
        return session

    def renew(self, session: Session) -> Session:
        """Give a session a new id and anti-forgery token (at sign-in); the old id ends."""
        with self._lock:
            self._sessions.pop(session.sid, None)
            session.sid = secrets.token_urlsafe(32)
            session.csrf = secrets.token_urlsafe(32)
            session.created = time.monotonic()
            self._sessions[session.sid] = session
        return session

    def end(self, session: Session) -> None:
        """Sign out: forget the session."""
        with self._lock:
            self._sessions.pop(session.sid, None)
