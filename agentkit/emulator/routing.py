"""Cross-Region inference routing inside the emulator.

A geographic inference profile (``us.``, ``eu.``, ``apac.``, ``jp.``, ``au.``, ``us-gov.``) called
in Region R may be served by any emulated Region of that geography; ``global.`` by any emulated
Region. R itself is always the first candidate. Which candidate serves is the fault plan's choice
(``cris_routing: source`` keeps R, ``spread`` rotates; ``cris_destination`` pins one), and the
serving Region's faults apply. Down or black-holed Regions are skipped, as CRIS routes around them.
"""

from __future__ import annotations

from agentkit.regions import GLOBAL_PROFILE, profile_destinations, profile_geography


def cris_candidates(model: str, source: str, emulated: list[str]) -> list[str]:
    """Regions that may serve ``model`` called in ``source``: empty for a plain model id."""
    geography = profile_geography(model)
    if geography is None:
        return []
    if geography == GLOBAL_PROFILE:
        members = set(emulated)
    elif profile_destinations(model, source=source):
        members = {source, *profile_destinations(model, source=source)} & set(emulated)
    else:
        return []  # the profile cannot be called in this Region
    if source not in members:
        return []
    return [source, *sorted(members - {source})]
