"""Business limits shared by importers and (later) mutations."""

from __future__ import annotations

DEFAULT_REACH_M = 5000
MAX_REACH_M = 50_000

# Monthly BPU contribution in Rupiah. The lowest package is JKK alone at the lowest declared
# income bracket (Rp 10,000); the ceiling is generous and exists to catch typing errors (an extra
# zero), not to encode the regulation's top bracket.
MIN_MONTHLY_CONTRIBUTION_IDR = 10_000
MAX_MONTHLY_CONTRIBUTION_IDR = 1_000_000
