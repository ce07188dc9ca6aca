"""`diffagent serve`: the HTTP app (page, API, health, metrics), micro-batching and catalog hot swap."""

from diffagent.serve.app import create_app

__all__ = ["create_app"]
