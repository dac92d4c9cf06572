"""Customer-facing web pages (no chat platform involved): the feedback form."""

from teambot.web.feedback import add_feedback_routes, feedback_routes
from teambot.web.ratelimit import RateLimiter

__all__ = ["RateLimiter", "add_feedback_routes", "feedback_routes"]
