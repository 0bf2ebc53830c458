"""Real NDI peers for tests and benchmarks: a camera (frame counter as timecode), a receiver, and a
bare relay (NDI in → NDI out, no model) as the baseline ltsd is measured against."""
