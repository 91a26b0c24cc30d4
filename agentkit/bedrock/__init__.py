"""Bedrock Runtime: client construction, the wire mapping, error translation, and the gateway."""
