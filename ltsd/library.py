"""The models of a folder, loaded ahead so a switch never waits on the disk.

Models load in name order until the memory budget is spent; beyond it, the least recently used
is dropped when another is needed. The folder is re-listed on every query, so a model file dropped
in while ltsd runs is available at once, with no restart.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import torch

from ltsd.errors import ModelError
from ltsd.modelstore import SUFFIX, LoadedModel, load_model, model_path, not_found

log = logging.getLogger(__name__)


def model_bytes(model: LoadedModel) -> int:
    return model.generator.memory_bytes()


class ModelLibrary:
    """Thread-safe; loading runs in the caller's thread (OSC, start-up), never the frame thread."""

    def __init__(
        self,
        models_dir: Path,
        device: torch.device,
        budget_mb: float,
        precision: str = "fp32",
        runtime: str = "torch",
    ) -> None:
        self.models_dir = models_dir
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.budget_bytes = int(budget_mb * 1e6)
        self._cache: OrderedDict[str, tuple[float, LoadedModel]] = OrderedDict()
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Model names in `ltsd models` order (sorted), as the folder holds them now."""
        if not self.models_dir.is_dir():
            return []
        return sorted(p.name.removesuffix(SUFFIX) for p in self.models_dir.glob(f"*{SUFFIX}"))

    def get(self, name: str) -> LoadedModel:
        """The loaded model `name`; raises ModelError naming the file when it cannot be used."""
        path = model_path(self.models_dir, name)
        try:
            modified = path.stat().st_mtime
        except OSError:
            raise not_found(path) from None
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == modified:
                self._cache.move_to_end(name)
                return cached[1]
            model = load_model(path, self.device, self.precision, self.runtime)
            self._cache[name] = (modified, model)
            self._cache.move_to_end(name)
            self._evict(keep=name)
            return model

    def add(self, model: LoadedModel) -> None:
        """Register a model loaded elsewhere (the one the daemon starts with)."""
        with self._lock:
            self._cache[model.name] = (model.path.stat().st_mtime, model)

    def preload(self, stop: threading.Event | None = None) -> None:
        """Load models in name order while they fit the budget; broken files are skipped.
        Returns early, between two models, once `stop` is set (the daemon is shutting down)."""
        for name in self.names():
            if stop is not None and stop.is_set():
                return
            with self._lock:
                used = sum(model_bytes(m) for _, m in self._cache.values())
            if used >= self.budget_bytes:
                break
            try:
                self.get(name)
            except ModelError as error:
                log.warning("%s (not preloaded)", error)
            except Exception:  # load_model contains file problems; one odd model never stops
                log.exception("model %r: not preloaded", name)  # the others from loading

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._cache)

    def _evict(self, keep: str) -> None:
        total = sum(model_bytes(m) for _, m in self._cache.values())
        while total > self.budget_bytes and len(self._cache) > 1:
            name, (_, model) = next(iter(self._cache.items()))
            if name == keep:
                self._cache.move_to_end(name)
                continue
            del self._cache[name]
            total -= model_bytes(model)
            log.debug("model %r dropped from memory (budget)", name)
