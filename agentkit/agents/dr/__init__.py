"""The DR advisor: a deterministic decision procedure, failover runbooks, and a chat agent."""
