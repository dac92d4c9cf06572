"""Mail adapters: the ways a composed follow-up leaves Teambot (SMTP, or an outbox folder)."""

from teambot.mail.senders import MailSender, OutboxSender, SmtpSender, build_message, sender_from_env

__all__ = ["MailSender", "OutboxSender", "SmtpSender", "build_message", "sender_from_env"]
