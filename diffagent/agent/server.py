"""Moved to `diffagent.serve` (app, batching, metrics, hot swap, page); kept so old imports work."""

from diffagent.serve.app import create_app

__all__ = ["create_app"]
