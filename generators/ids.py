"""Deterministic 64-bit ids from integer keys, vectorised.

The SplitMix64 finaliser is a bijection on 64-bit integers, so distinct keys
give distinct ids: span ids built from unique (day, part, row) keys never
collide, which a random draw could not promise. Written by hand because
numpy has no public vectorised integer-hash function.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(keys: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser applied element-wise (uint64 in, uint64 out)."""
    z = keys.astype(np.uint64, copy=True)
    z += _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def salt(seed: int, stream: int) -> np.uint64:
    """A per-run, per-purpose constant XOR-ed into keys before mixing."""
    return mix64(np.array([(seed << 8) | stream], dtype=np.uint64))[0]
