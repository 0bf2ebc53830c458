"""Memory stays flat: RSS growth after warm-up, counted in frames (no wall-clock assertions)."""

from __future__ import annotations

from pathlib import Path

import torch

from ltsd.harness.soak import soak
from tests.conftest import MODEL_RGB
from tests.helpers.models import write_constant_model


def test_rss_stays_flat_across_thousands_of_frames_with_model_switches(tmp_path: Path):
    write_constant_model(tmp_path, "magenta", MODEL_RGB)
    write_constant_model(tmp_path, "teal", (20, 160, 150))
    samples = soak(tmp_path, frames=3000, every=250, switch_every=100, width=96, height=54,
                   device=torch.device("cpu"))  # fmt: skip
    running = samples[:-1]  # the last sample is taken after the pipeline stopped
    assert samples[-1].frame >= 3000 and running[-1].frame >= 2500
    warm = next(s for s in running if s.frame >= 1000)
    growth_mb = running[-1].rss_mb - warm.rss_mb
    assert growth_mb < 3.0, (
        f"RSS grew {growth_mb:.1f} MB over {running[-1].frame - warm.frame} frames"
    )
