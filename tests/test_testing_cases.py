"""The accuracy cases (navsvc.testing.cases): one case is drawn as the benchmark draws it."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.testing.cases import accuracy_case, accuracy_cases

PROBE_RAS_MM = np.array([[-20.0, 10.0, 15.0], [25.0, -5.0, 30.0]])


@pytest.fixture(scope="module")
def small_head() -> nib.Nifti1Image:
    data = np.random.default_rng(0).uniform(0, 100, (24, 24, 24)).astype(np.float32)
    affine = np.array([[3.0, 0, 0, -36], [0, 3, 0, -36], [0, 0, 3, -36], [0, 0, 0, 1]])  # 3 mm voxels, centred
    return nib.Nifti1Image(data, affine)


def test_a_case_is_the_one_the_benchmark_draws(small_head):
    in_order = {name: make(small_head) for name, make in accuracy_cases()}
    alone = accuracy_case("oblique affine B", small_head)
    assert np.allclose(alone.original_to_new(PROBE_RAS_MM), in_order["oblique affine B"].original_to_new(PROBE_RAS_MM))
    # made alone, the maker draws from a fresh generator: another transform
    _, make = accuracy_cases()[4]
    assert not np.allclose(make(small_head).original_to_new(PROBE_RAS_MM), alone.original_to_new(PROBE_RAS_MM))


def test_an_unknown_case_is_named_in_the_error(small_head):
    with pytest.raises(LookupError, match="no such warp"):
        accuracy_case("no such warp", small_head)
