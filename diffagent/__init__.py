"""DiffAgent runtime: the data pipeline, the agent, rendering, scoring and the CLI."""

__version__ = "0.1.0"
