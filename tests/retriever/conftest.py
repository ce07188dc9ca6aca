"""The agent fixtures (a small DABench, a tiny SFT agent, the embeddings cache) shared with tests/agent."""

from tests.agent.conftest import agent, agent_dir, dabench, embeddings_cache, tiny_llm  # noqa: F401
