"""Durable intake and card outbox: what Teambot acknowledged is a row before the ack."""
