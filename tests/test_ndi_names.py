from __future__ import annotations

import pytest

from ltsd.ndi import match_source_name

AVAILABLE = ["STUDIO (Camera 1)", "STUDIO (Camera 2)", "LAPTOP (ltsd)"]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("STUDIO (Camera 1)", "STUDIO (Camera 1)"),  # exact
        ("ltsd", "LAPTOP (ltsd)"),  # the part in brackets
        ("Camera 2", "STUDIO (Camera 2)"),  # bracket part again
        ("LAPTOP", "LAPTOP (ltsd)"),  # unique substring
        ("Camera", None),  # ambiguous substring
        ("ocean", None),  # absent
    ],
)
def test_source_names_match_exact_bracket_or_unique_substring(wanted, expected):
    assert match_source_name(AVAILABLE, wanted) == expected
