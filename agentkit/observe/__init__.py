"""Observability as code: the alarms the runbooks name, their composite and a cross-Region
dashboard, exported for CloudFormation (:mod:`agentkit.observe.cloudformation`)."""
