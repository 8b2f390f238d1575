"""Vectorised list-price cost of model calls, from the table in catalog.py.

Used for the cost a reporting source attaches to spans (`reported_cost_usd`)
and for the ground-truth multiplier of each anomaly. Semantics follow the
catalog: input includes cache reads and writes, output includes reasoning;
above a model's context threshold the whole request moves to the long tier;
batch traffic costs half; DeepSeek's off-peak window has its own prices. Unpriced
models cost NaN.
"""

from __future__ import annotations

import numpy as np

from generators.catalog import MODELS


def _col(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


class PriceTable:
    """Per-model price vectors indexed by model code (catalog order)."""

    def __init__(self) -> None:
        inp = _col([m.input_per_mtok for m in MODELS])
        self.input = inp
        self.output = _col([m.output_per_mtok for m in MODELS])
        # A missing cache price means the provider bills those tokens as plain input.
        self.cache_read = np.where(
            np.isnan(_col([m.cache_read_per_mtok for m in MODELS])), inp, _col([m.cache_read_per_mtok for m in MODELS])
        )
        self.cache_write = np.where(
            np.isnan(_col([m.cache_write_per_mtok for m in MODELS])),
            inp,
            _col([m.cache_write_per_mtok for m in MODELS]),
        )
        self.threshold = np.array([m.long_context_threshold or np.iinfo(np.int64).max for m in MODELS], dtype=np.int64)
        self.long_input = np.where(
            np.isnan(_col([m.long_input_per_mtok for m in MODELS])),
            self.input,
            _col([m.long_input_per_mtok for m in MODELS]),
        )
        self.long_output = np.where(
            np.isnan(_col([m.long_output_per_mtok for m in MODELS])),
            self.output,
            _col([m.long_output_per_mtok for m in MODELS]),
        )
        lcr = _col([m.long_cache_read_per_mtok for m in MODELS])
        self.long_cache_read = np.where(np.isnan(lcr), self.cache_read, lcr)
        lcw = _col([m.long_cache_write_per_mtok for m in MODELS])
        self.long_cache_write = np.where(np.isnan(lcw), self.long_input, lcw)
        self.offpeak_input = np.where(
            np.isnan(_col([m.offpeak_input_per_mtok for m in MODELS])),
            self.input,
            _col([m.offpeak_input_per_mtok for m in MODELS]),
        )
        self.offpeak_output = np.where(
            np.isnan(_col([m.offpeak_output_per_mtok for m in MODELS])),
            self.output,
            _col([m.offpeak_output_per_mtok for m in MODELS]),
        )
        ocr = _col([m.offpeak_cache_read_per_mtok for m in MODELS])
        self.offpeak_cache_read = np.where(np.isnan(ocr), self.cache_read, ocr)
        self.offpeak_start = np.array([m.offpeak_start_minute for m in MODELS])
        self.offpeak_end = np.array([m.offpeak_end_minute for m in MODELS])

    def cost(
        self,
        model: np.ndarray,
        input_tokens: np.ndarray,
        cache_read: np.ndarray,
        cache_write: np.ndarray,
        output_tokens: np.ndarray,
        batch: np.ndarray | None = None,
        minute_of_day: np.ndarray | None = None,
    ) -> np.ndarray:
        """USD per call; NaN for unpriced models."""
        long = input_tokens > self.threshold[model]
        p_in = np.where(long, self.long_input[model], self.input[model])
        p_cr = np.where(long, self.long_cache_read[model], self.cache_read[model])
        p_cw = np.where(long, self.long_cache_write[model], self.cache_write[model])
        p_out = np.where(long, self.long_output[model], self.output[model])
        if minute_of_day is not None:
            start, end = self.offpeak_start[model], self.offpeak_end[model]
            wraps = start > end
            off = np.where(
                wraps,
                (minute_of_day >= start) | (minute_of_day < end),
                (minute_of_day >= start) & (minute_of_day < end),
            )
            p_in = np.where(off, self.offpeak_input[model], p_in)
            p_cr = np.where(off, self.offpeak_cache_read[model], p_cr)
            p_cw = np.where(off, self.offpeak_input[model], p_cw)
            p_out = np.where(off, self.offpeak_output[model], p_out)
        uncached = input_tokens - cache_read - cache_write
        usd = (uncached * p_in + cache_read * p_cr + cache_write * p_cw + output_tokens * p_out) / 1e6
        if batch is not None:
            usd = np.where(batch, usd * 0.5, usd)
        return usd
