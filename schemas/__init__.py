"""Typed boundaries of DiffAgent: Civitai responses, DABench rows, the T2I API, Arrow schemas."""
