"""The ``agentkit`` command line. Heavy imports (boto3, langgraph) stay inside commands."""
