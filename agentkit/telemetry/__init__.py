"""OpenTelemetry for agentkit: GenAI span names and attributes, and exporter setup."""
