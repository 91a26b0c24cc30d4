"""Capacity: requests and tokens per minute from agent configuration, and quota accounting.

- :mod:`.config`: the ``capacity:`` section of agentkit.yaml.
- :mod:`.formulas` and :mod:`.model`: the seed's formulas and the corrected model (domain.md 3).
- :mod:`.accounting` and :mod:`.bucket`: how Bedrock reserves and settles quota tokens, and a
  clock-injected token bucket for client-side admission control.
- :mod:`.burndown`: the versioned table of output burndown rates per model family.

Kept free of imports so that loading the configuration stays cheap.
"""
