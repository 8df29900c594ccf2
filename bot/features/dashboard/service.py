"""The dashboard's logins: one-time links made by the bot, and the sessions they open.

A link carries `<telegram id>.<issued at>.<nonce>.<signature>`: HMAC-SHA256 under a key the
bot makes once and keeps in the database (`secrets`, shared by every worker), so a link is
checked without a lookup and cannot be made up or moved to another user. It is good for
LINK_MINUTES and logs in once: opening it inserts its nonce (`dashboard_logins`), and a second
insert of the same nonce finds it taken, on SQLite and PostgreSQL alike, however many
workers race.

A session is a random id in an HttpOnly cookie; the database keeps only its SHA-256, with
the staff member, a CSRF token for the forms and when it ends. The role is read again on
every request (`role_of`): a lead removed in the bot loses the dashboard at the next one.
No aiohttp and no aiogram here.
"""

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DashboardLogin, DashboardSession, as_utc, utcnow
from bot.db.upsert import upsert
from bot.services.roles import Role, Viewer, role_of
from bot.services.secrets import stored_secret

LINK_MINUTES = 10
KEY_NAME = "dashboard_key"
NONCE_BYTES = 16
SESSION_BYTES = 32
# A link dated this far ahead of the clock is a forgery or a broken clock: refused.
CLOCK_SKEW = timedelta(seconds=60)
TOKEN = re.compile(r"([1-9][0-9]{0,15})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")

Clock = Callable[[], datetime]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(key: str, telegram_id: int, issued: int, nonce: str) -> str:
    # The purpose leads the message, so that no other HMAC under this key passes for a link.
    message = f"dashboard-login.{telegram_id}.{issued}.{nonce}".encode()
    return _b64(hmac.new(key.encode(), message, hashlib.sha256).digest())


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Login:
    """A session just opened: the id for the cookie (never stored) and when it ends."""

    session_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Visit:
    """Who a request's cookie signs in, with the CSRF token of their forms. `viewer` None: no
    session (none, unknown or over); `revoked`: there was one, of someone no longer staff."""

    viewer: Viewer | None
    csrf_token: str = ""
    revoked: bool = False


class DashboardService:
    def __init__(
        self, admin_ids: frozenset[int], session_hours: float, clock: Clock = utcnow
    ) -> None:
        self.admin_ids = admin_ids
        self.session_length = timedelta(hours=session_hours)
        self.clock = clock

    async def issue(self, session: AsyncSession, telegram_id: int) -> str:
        """A login link's token for the staff member (the caller has checked the role). A key
        made now is written in the session's transaction, for the caller to commit."""
        key = await stored_secret(session, KEY_NAME)
        issued = int(self.clock().timestamp())
        nonce = _b64(secrets.token_bytes(NONCE_BYTES))
        return f"{telegram_id}.{issued}.{nonce}.{_signature(key, telegram_id, issued, nonce)}"

    async def redeem(self, session: AsyncSession, token: str) -> Login | None:
        """Opens a session for a valid link used for the first time, by staff; None for any
        other token (forged, malformed, expired, used, or its owner no longer staff), which
        is all the caller may tell the visitor. Commits."""
        found = TOKEN.fullmatch(token)
        if found is None:
            return None
        telegram_id, issued, nonce = int(found[1]), int(found[2]), found[3]
        key = await stored_secret(session, KEY_NAME)
        if not hmac.compare_digest(found[4], _signature(key, telegram_id, issued, nonce)):
            return None
        now = as_utc(self.clock())
        issued_at = datetime.fromtimestamp(issued, now.tzinfo)
        expires = issued_at + timedelta(minutes=LINK_MINUTES)
        if not (issued_at - CLOCK_SKEW <= now < expires):
            return None
        if await role_of(session, telegram_id, self.admin_ids) is Role.STUDENT:
            return None
        await self._prune(session, now)
        claim = {"nonce": nonce, "telegram_id": telegram_id, "used_at": now, "expires_at": expires}
        if not await upsert(session, DashboardLogin, claim, ["nonce"]):
            await session.rollback()
            return None
        session_id = _b64(secrets.token_bytes(SESSION_BYTES))
        ends = now + self.session_length
        session.add(
            DashboardSession(
                id_hash=_hash(session_id),
                telegram_id=telegram_id,
                csrf_token=_b64(secrets.token_bytes(SESSION_BYTES)),
                created_at=now,
                expires_at=ends,
            )
        )
        await session.commit()
        return Login(session_id, ends)

    async def visit(self, session: AsyncSession, session_id: str | None) -> Visit:
        """The session a request's cookie names, its staff member's role read afresh. A
        session that is over, or whose owner is no longer staff, is deleted. Commits a
        deletion."""
        if not session_id or SESSION_ID.fullmatch(session_id) is None:
            return Visit(None)
        row = await session.get(DashboardSession, _hash(session_id))
        if row is None:
            return Visit(None)
        if as_utc(row.expires_at) <= as_utc(self.clock()):
            await session.delete(row)
            await session.commit()
            return Visit(None)
        role = await role_of(session, row.telegram_id, self.admin_ids)
        if role is Role.STUDENT:
            await session.delete(row)
            await session.commit()
            return Visit(None, revoked=True)
        return Visit(Viewer(row.telegram_id, role), row.csrf_token)

    async def end(self, session: AsyncSession, session_id: str | None, csrf_token: str) -> bool:
        """Signs out the cookie's session when the form's CSRF token is its own. Commits."""
        visit = await self.visit(session, session_id)
        if visit.viewer is None or not hmac.compare_digest(
            csrf_token.encode(), visit.csrf_token.encode()
        ):
            return False
        assert session_id is not None
        await session.execute(
            delete(DashboardSession).where(DashboardSession.id_hash == _hash(session_id))
        )
        await session.commit()
        return True

    @staticmethod
    async def _prune(session: AsyncSession, now: datetime) -> None:
        """Links past their time can no longer be replayed, and sessions past theirs open
        nothing: neither is worth keeping."""
        await session.execute(delete(DashboardLogin).where(DashboardLogin.expires_at < now))
        await session.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
