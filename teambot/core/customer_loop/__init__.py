"""Close the loop with the customer: signed feedback links, the follow-up as an email,
and the ports the feedback page and the mail senders plug into.
"""

from teambot.core.customer_loop.email_address import split_contact, validate_email
from teambot.core.customer_loop.mail import FollowupMail, compose_followup
from teambot.core.customer_loop.ports import (
    COMMENT_MAX_CHARS,
    FeedbackAnswer,
    FeedbackStore,
    FeedbackView,
    MailSender,
)
from teambot.core.customer_loop.tokens import (
    DEFAULT_LIFETIME,
    TokenError,
    TokenExpired,
    TokenInvalid,
    issue_token,
    new_token_id,
    read_token,
)

__all__ = [
    "COMMENT_MAX_CHARS",
    "DEFAULT_LIFETIME",
    "FeedbackAnswer",
    "FeedbackStore",
    "FeedbackView",
    "FollowupMail",
    "MailSender",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "compose_followup",
    "issue_token",
    "new_token_id",
    "read_token",
    "split_contact",
    "validate_email",
]
