"""Webhooks out (Standard Webhooks): endpoints per team, an outbox row per event written in the
case change's own transaction, delivered by the due-item sweep with retries for 24 hours."""
