"""FMEA from an architecture: a deterministic, scored worksheet, reports, and a CI gate."""
