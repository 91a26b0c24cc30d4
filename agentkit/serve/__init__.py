"""Long-running entry points: agentkit's tools served to other agents (MCP)."""
