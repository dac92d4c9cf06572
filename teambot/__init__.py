"""Teambot: service recovery from Slack and Microsoft Teams."""

__version__ = "0.1.0"
