"""Business rules and the defaults that express them, shared by importers, mutations, the API and the maps."""

from __future__ import annotations

DEFAULT_REACH_M = 5000
MAX_REACH_M = 50_000

# Monthly BPU contribution in Rupiah. The lowest package is JKK alone at the lowest declared
# income bracket (Rp 10,000); the ceiling is generous and exists to catch typing errors (an extra
# zero), not to encode the regulation's top bracket.
MIN_MONTHLY_CONTRIBUTION_IDR = 10_000
MAX_MONTHLY_CONTRIBUTION_IDR = 1_000_000

# A village is LOW_PENETRATION (coverageGaps' default, the maps' "reached, few enrolled") below this
# share of its informal workers enrolled.
LOW_PENETRATION = 0.10
# An agent is overloaded (agentWorkload's default, the maps' darkest reach) above this workers share.
OVERLOAD_WORKERS = 3000
# coverageChanges lists a village whose penetration moved by at least this much (5 percentage points).
PENETRATION_CHANGE = 0.05
# Observed reach: enrollments in this many days up to asOf show where an agent really works
# (Agent.observedReachM, VillageCoverage.observed, gaps of kind PAPER_ONLY).
DEFAULT_OBSERVED_DAYS = 180
MAX_OBSERVED_DAYS = 3650
OBSERVED_SHARE = 0.9  # observedReachM: the distance within which this share of the enrollments lie
