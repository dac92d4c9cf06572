"""Improvement actions in Jira Cloud: a team's linked project, issues created from actions,
and actions marked done when their issue is (Jira's webhook, or a poll)."""
