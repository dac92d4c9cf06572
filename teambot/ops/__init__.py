"""Running Teambot as a service: probes of what a deployment depends on, `teambot doctor`, and the
`/metrics` and `/readyz` endpoints (see docs/operations.md)."""
