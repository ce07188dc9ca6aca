"""Civitai: the async API client, the bundled sample, and a local server that speaks the API."""
