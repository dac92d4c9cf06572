"""Mail senders against a real local SMTP server (aiosmtpd), and the .eml outbox.

The SMTP tests run STARTTLS + AUTH and implicit TLS with a self-signed certificate made
at test time, so what is proved is the path a real provider takes, not a mock's.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from teambot.core.customer_loop.mail import FollowupMail, compose_followup
from teambot.mail.senders import OutboxSender, SmtpSender, sender_from_env

URL = "https://teambot.example.com/feedback/tok.en"
FROM = "Bistro & Co <care@bistro.example>"


def _mail() -> FollowupMail:
    return compose_followup(
        "Jane",
        "Bistro & Co",
        "Sam Lee",
        "We are sorry that the <soup> was cold.\n\nWhat we have done: a new bowl, on us.",
        URL,
        to="jane@example.com",
        reply_to="sam@bistro.example",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """aiosmtpd handler: keeps each envelope and whether its session was TLS and who logged in."""

    received: list[tuple[Any, bool, bytes | None]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.received.append((envelope, tls, session.auth_data))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login, data.password))
            if (data.login, data.password) == (b"care@bistro.example", b"p@ss:w/rd"):
                return AuthResult(success=True, auth_data=data.login)
        return AuthResult(success=False, handled=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting only this self-signed certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def _serve(inbox: Inbox, **kwargs: Any) -> Iterator[int]:
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _parse(envelope: Any) -> EmailMessage:
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _check_message(msg: EmailMessage, message_id: str) -> None:
    assert str(msg["Message-ID"]).strip() == message_id
    assert message_id.endswith("@bistro.example>")
    assert msg["From"] == FROM
    assert msg["To"] == "jane@example.com"
    assert msg["Reply-To"] == "sam@bistro.example"
    assert msg["Subject"] == "Following up from Bistro & Co"
    assert msg["Date"] is not None
    assert msg.get_content_type() == "multipart/alternative"
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "We are sorry that the <soup> was cold." in text and URL in text
    assert "the &lt;soup&gt; was cold." in html and f'href="{URL}"' in html
    assert "Sam Lee" in text and "Sam Lee" in html


async def test_smtp_starttls_and_auth(certs: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_ctx, client_ctx = certs
    inbox = Inbox()
    for port in _serve(
        inbox,
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_required=True,
        auth_require_tls=True,
    ):
        # User and password URL-encoded: "@", ":" and "/" must survive the trip.
        sender = SmtpSender(f"smtp://care%40bistro.example:p%40ss%3Aw%2Frd@127.0.0.1:{port}", tls_context=client_ctx)
        message_id = await sender.send(_mail(), FROM)
    assert inbox.logins == [(b"care@bistro.example", b"p@ss:w/rd")]
    [(envelope, was_tls, login)] = inbox.received
    assert was_tls and login == b"care@bistro.example"
    assert envelope.mail_from == "care@bistro.example"
    assert envelope.rcpt_tos == ["jane@example.com"]
    _check_message(_parse(envelope), message_id)


async def test_smtp_wrong_password_is_refused_and_not_echoed(certs: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_ctx, client_ctx = certs
    inbox = Inbox()
    for port in _serve(inbox, tls_context=server_ctx, authenticator=inbox.authenticate, auth_required=True):
        sender = SmtpSender(f"smtp://care%40bistro.example:wrong-secret@127.0.0.1:{port}", tls_context=client_ctx)
        with pytest.raises(aiosmtplib.SMTPException) as err:
            await sender.send(_mail(), FROM)
    assert "wrong-secret" not in str(err.value)
    assert inbox.received == []


async def test_smtps_implicit_tls(certs: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_ctx, client_ctx = certs
    inbox = Inbox()
    for port in _serve(inbox, ssl_context=server_ctx):
        message_id = await SmtpSender(f"smtps://127.0.0.1:{port}", tls_context=client_ctx).send(_mail(), FROM)
    [(envelope, was_tls, _)] = inbox.received
    assert was_tls
    _check_message(_parse(envelope), message_id)


async def test_smtp_plain_relay_without_starttls() -> None:
    """A local relay on port 25/1025 that offers no TLS still works (no credentials sent)."""
    inbox = Inbox()
    for port in _serve(inbox):
        message_id = await SmtpSender(f"smtp://127.0.0.1:{port}").send(_mail(), FROM)
    [(envelope, was_tls, _)] = inbox.received
    assert not was_tls
    _check_message(_parse(envelope), message_id)


def test_smtp_url_parsing_and_repr_hides_the_password() -> None:
    sender = SmtpSender("smtp://care%40bistro.example:s3cr%2Ft@mail.example.com")
    assert (sender.host, sender.port, sender.username, sender.implicit_tls) == (
        "mail.example.com",
        587,
        "care@bistro.example",
        False,
    )
    assert sender._start_tls is True  # port 587: STARTTLS is required, never optional
    for shown in (repr(sender), str(sender), f"{sender!r}", repr([sender])):
        assert "s3cr" not in shown and "***" in shown
    assert SmtpSender("smtps://mail.example.com").port == 465
    assert SmtpSender("smtp://mail.example.com:25")._start_tls is None  # upgrade if offered
    for bad in ("http://mail.example.com", "smtp://", "mail.example.com"):
        with pytest.raises(ValueError):
            SmtpSender(bad)


async def test_outbox_writes_a_parsable_eml(tmp_path: Path) -> None:
    outbox = OutboxSender(tmp_path / "outbox")
    first = await outbox.send(_mail(), FROM)
    second = await outbox.send(_mail(), FROM)
    assert first != second
    _check_outbox(tmp_path / "outbox", [first, second])


def _check_outbox(folder: Path, ids: list[str]) -> None:
    assert sorted(str(f) for f in folder.iterdir()) == sorted(ids)  # no .tmp left behind
    msg = email.message_from_bytes(Path(ids[0]).read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    _check_message(msg, str(msg["Message-ID"]).strip())


def test_sender_from_env(tmp_path: Path) -> None:
    assert isinstance(sender_from_env(None, tmp_path), OutboxSender)
    assert isinstance(sender_from_env("  ", tmp_path), OutboxSender)
    assert isinstance(sender_from_env("smtp://u:p@mail.example.com:587", tmp_path), SmtpSender)
