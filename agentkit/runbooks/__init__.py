"""Failover runbooks: versioned, validated data (``runbooks/``), plans and ARC exports."""

from agentkit.runbooks.model import Report, Runbook, load_all, load_runbook, validate
from agentkit.runbooks.plan import plan

__all__ = ["Report", "Runbook", "load_all", "load_runbook", "plan", "validate"]
