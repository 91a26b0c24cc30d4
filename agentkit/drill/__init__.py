"""Drills on AWS: ``agentkit drill export --format fis`` writes what a team needs to deny the
agent's role Bedrock in its primary Region for a set time, under AWS FIS with stop conditions on
the alarms ``agentkit observe export`` creates (:mod:`agentkit.drill.fis`, docs/drills.md)."""
