"""The HTTP API (/api/v1) and the webhook sender's HTTP client: aiohttp adapters over the core."""
