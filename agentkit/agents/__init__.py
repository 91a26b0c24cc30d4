"""The agents shipped on agentkit."""
