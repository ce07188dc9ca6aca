"""CLI command groups. Each module defines `register(app, train_app)` and owns its commands."""
