"""Colin27 in memory and marked, once per module, for the tests of navsvc.testing.heads."""

from __future__ import annotations

import nibabel as nib
import pytest
from head_markers import colin_in_memory, with_markers


@pytest.fixture(scope="module")
def colin() -> nib.Nifti1Image:
    return colin_in_memory()


@pytest.fixture(scope="module")
def marked(colin):
    """Colin27 with the three markers (float32) and the markers' exact world centres."""
    return with_markers(colin)
