"""Mail senders: SMTP for real, an outbox folder of .eml files when no SMTP server is set.

The outbox makes a fresh install (and every test) able to "send" the follow-up and show
exactly what would have gone out, without an account anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from teambot.core.customer_loop.mail import FollowupMail
from teambot.core.customer_loop.ports import MailSender

__all__ = ["MailSender", "OutboxSender", "SmtpSender", "build_message", "sender_from_env"]

log = logging.getLogger(__name__)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip(" >") or "teambot.invalid"


def build_message(mail: FollowupMail, mail_from: str, now: datetime | None = None) -> EmailMessage:
    """The MIME message both senders send: text first, HTML as the preferred alternative."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    # Short enough never to be folded: a folded Message-ID reads back with a leading space.
    msg["Message-ID"] = f"<{secrets.token_hex(16)}@{_domain_of(mail_from)}>"
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    # RFC 3282, after the parts (setting content clears Content-* headers): mail clients read it.
    msg["Content-Language"] = mail.language
    return msg


class SmtpSender:
    """Sends through the server in SMTP_URL: ``smtp://user:pass@host:587`` or ``smtps://...:465``.

    smtp:// upgrades with STARTTLS whenever the server offers it, and insists on it on
    port 587 (the submission port, where credentials must not travel in clear); smtps://
    is TLS from the first byte. User and password are URL-decoded, so ``p%40ss`` is ``p@ss``.
    """

    def __init__(self, url: str, *, tls_context: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP_URL needs a host, like smtp://user:pass@mail.example.com:587")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._tls_context = tls_context
        self.timeout = timeout

    def __repr__(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        return f"SmtpSender('{'smtps' if self.implicit_tls else 'smtp'}://{auth}{self.host}:{self.port}')"

    __str__ = __repr__

    @property
    def _start_tls(self) -> bool | None:
        """True: must upgrade; None: upgrade if offered; False: never (implicit TLS already)."""
        if self.implicit_tls:
            return False
        return True if self.port == 587 else None

    async def send(self, mail: FollowupMail, mail_from: str) -> str:
        msg = build_message(mail, mail_from)
        await aiosmtplib.send(
            msg,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self._password,
            use_tls=self.implicit_tls,
            start_tls=self._start_tls,
            tls_context=self._tls_context,
            timeout=self.timeout,
        )
        message_id = str(msg["Message-ID"])
        log.info("follow-up mail sent via %s:%s as %s", self.host, self.port, message_id)
        return message_id

    async def check(self) -> str:
        """Connect, secure and log in as a send would, then quit without sending (`teambot doctor`).
        Returns how the session was secured: "TLS", "STARTTLS" or "plain"; raises what a send would."""
        smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port, use_tls=self.implicit_tls,
                               start_tls=self._start_tls, tls_context=self._tls_context, timeout=self.timeout)  # fmt: skip
        async with smtp:
            if self.username:
                await smtp.login(self.username, self._password or "")
            secured = smtp.get_transport_info("sslcontext") is not None
        if self.implicit_tls:
            return "TLS"
        return "STARTTLS" if secured else "plain"


class OutboxSender:
    """Writes each mail as one .eml file (openable in any mail client) and returns its path."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"OutboxSender({str(self.folder)!r})"

    def _write(self, msg: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(msg.as_bytes())
        os.replace(tmp, path)  # a reader never sees half a mail
        return path

    async def send(self, mail: FollowupMail, mail_from: str) -> str:
        path = await asyncio.to_thread(self._write, build_message(mail, mail_from))
        log.info("follow-up mail written to %s", path)
        return str(path)


def sender_from_env(smtp_url: str | None, outbox: Path) -> MailSender:
    """SMTP when SMTP_URL is set; otherwise the outbox folder, so nothing is silently lost."""
    if smtp_url and smtp_url.strip():
        return SmtpSender(smtp_url.strip())
    return OutboxSender(outbox)
