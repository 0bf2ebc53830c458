"""The whole log's rate cap: bursts pass, floods are cut and summarised."""

from __future__ import annotations

import logging
import time

from ltsd.logs import LogRateLimit


def test_a_flood_is_cut_to_the_burst_and_summarised_once_it_eases():
    limit = LogRateLimit(burst=50, per_s=100.0)
    records = [logging.LogRecord("x", logging.WARNING, __file__, 1, "line %d", (i,), None)
               for i in range(5000)]  # fmt: skip
    passed = [record for record in records if limit.filter(record)]
    assert 50 <= len(passed) < 80  # the burst, plus what refilled while the loop ran
    time.sleep(0.1)
    later = logging.LogRecord("x", logging.WARNING, __file__, 1, "calm again", (), None)
    assert limit.filter(later)
    assert "calm again" in later.getMessage() and "log lines suppressed" in later.getMessage()
