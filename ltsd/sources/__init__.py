"""Where frames come from. Every source has the same three calls; the pipeline owns the threads.

read(timeout_s) blocks for at most timeout_s and returns the next Frame, or None when none came
(a source that is looking for its sender, or between frames). close() releases what it holds.
"""

from __future__ import annotations

from typing import Protocol

from ltsd.config import Config
from ltsd.errors import SourceError
from ltsd.frame import Frame
from ltsd.platforms import require_platform


class Source(Protocol):
    description: str

    def read(self, timeout_s: float) -> Frame | None: ...

    def close(self) -> None: ...


def open_source(config: Config) -> Source:
    """The source named by `config.source.spec`, opened now (a user mistake is a SourceError
    here), and re-opened from the same spec whenever it fails later."""
    from ltsd.sources.supervised import SupervisedSource

    return SupervisedSource(open_unsupervised(config), lambda: open_unsupervised(config))


def open_unsupervised(config: Config) -> Source:
    spec = config.source.spec
    if spec == "synthetic":
        from ltsd.sources.synthetic import SyntheticSource

        return SyntheticSource(config.synthetic)
    if spec == "browser":
        from ltsd.sources.browser import BrowserSource

        return BrowserSource()
    if spec.startswith("ndi:") and len(spec) > 4:
        from ltsd.sources.ndi import NdiSource

        return NdiSource(spec[4:], config.source.extra_ips, config.source.lost_after_s)
    if spec.startswith("file:") and len(spec) > 5:
        from ltsd.sources.file import FileSource

        return FileSource(spec[5:], loop=config.source.loop)
    if spec.startswith("images:") and len(spec) > 7:
        from ltsd.sources.images import ImagesSource

        return ImagesSource(spec[7:], config.synthetic.fps, config.source.slide_s)
    if spec.startswith("camera:") and len(spec) > 7:
        from ltsd.sources.camera import CameraSource

        return CameraSource(spec[7:])
    if spec.startswith("syphon:") and len(spec) > 7:
        require_platform("source syphon", "syphon")
        from ltsd.sources.syphon import SyphonSource

        return SyphonSource(spec[7:], config.source.lost_after_s)
    if spec.startswith("spout:") and len(spec) > 6:
        require_platform("source spout", "spout")
        from ltsd.sources.spout import SpoutSource

        return SpoutSource(spec[6:])
    raise SourceError(
        f"source {spec!r}: expected synthetic, browser, ndi:NAME, file:PATH, images:DIR, "
        "camera:DEVICE, syphon:NAME (macOS) or spout:NAME (Windows)"
    )
