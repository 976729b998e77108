"""The named targets and landmark positions are docs/DESIGN.md's, all of the targets on the left.

A target in the right hemisphere is the worst bug this product can have: each coordinate is
read from the design's tables here, not copied into the test.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from api.schemas import PlanRequest
from navsvc.cli import build_parser
from navsvc.errors import InputError
from navsvc.landmarks.montage import LANDMARK_LABELS, landmark_positions_colin_mm, montage_path
from navsvc.options import PlanOptions
from navsvc.plan_document import plan_schema
from navsvc.target.strategies import (DEFAULT_STRATEGY, M1_HAND_KNOB_CITATION, M1_HAND_KNOB_MNI_MM, STRATEGIES,
                                      get_strategy)

DESIGN = (Path(__file__).resolve().parent.parent / "docs" / "DESIGN.md").read_text(encoding="utf-8")
#: the row names of DESIGN.md §4 -> the strategy names
DESIGN_ROWS = {"Fox 2012": "fox2012", "BA46 average": "ba46", "BA9 average": "ba9",
               "5-cm rule average": "fivecm_avg", "F3 (Beam) average": "f3_avg", "Fitzgerald": "fitzgerald2009"}
NUMBER = r"(−?-?\d+(?:\.\d+)?)"


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _design_targets_mni_mm() -> dict[str, tuple[float, float, float]]:
    section = DESIGN.split("## 4. Target strategies")[1].split("\n## ")[0]
    targets = {}
    for row in re.finditer(rf"^\| ([^|]+?) \| \({NUMBER}, {NUMBER}, {NUMBER}\) \|", section, re.M):
        name = next((strategy for start, strategy in DESIGN_ROWS.items() if row.group(1).startswith(start)), None)
        if name is not None:
            targets[name] = tuple(_number(row.group(k)) for k in (2, 3, 4))
    return targets


def test_every_named_target_is_the_designs_coordinate():
    design = _design_targets_mni_mm()
    assert set(design) == set(DESIGN_ROWS.values())  # every row was read
    assert {name: strategy.mni_mm for name, strategy in STRATEGIES.items()} == design


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_named_target_and_the_hand_knob_lie_in_the_left_hemisphere(name):
    assert STRATEGIES[name].mni_mm[0] < 0 and STRATEGIES[name].citation
    assert M1_HAND_KNOB_MNI_MM[0] < 0


def test_an_unknown_strategy_lists_the_known_ones():
    assert get_strategy("fox2012") is STRATEGIES["fox2012"]
    with pytest.raises(InputError) as err:
        get_strategy("fox")
    assert str(err.value) == ("unknown strategy 'fox'; choose one of fox2012, ba46, ba9, fivecm_avg, f3_avg, "
                              "fitzgerald2009 or give --mni X Y Z / --native X Y Z")


def test_the_landmarks_are_the_designs_10_05_positions():
    # DESIGN.md §5 quotes MNE's standard_1005 positions to 0.01 mm ("Nasion" is the file's Nz)
    section = DESIGN.split("## 5. Scalp landmarks")[1].split("\n## ")[0]
    quoted = {label: tuple(_number(row.group(k)) for k in (2, 3, 4)) for row in re.finditer(
        rf"(F3|Fz|Cz|Nasion|LPA|RPA) \({NUMBER}, {NUMBER}, {NUMBER}\)", section) for label in [row.group(1)]}
    names = {"F3": "f3", "Fz": "fz", "Cz": "cz", "Nasion": "nasion", "LPA": "lpa", "RPA": "rpa"}
    assert set(quoted) == set(names)
    positions = landmark_positions_colin_mm()
    for label, name in names.items():
        assert np.allclose(positions[name], quoted[label], atol=0.006), (label, positions[name], quoted[label])
    assert positions["lpa"][0] < 0 < positions["rpa"][0] and positions["f3"][0] < 0 < positions["f4"][0]
    assert positions["nasion"][1] > 0 > positions["inion"][1]


def test_each_landmark_is_the_montage_label_of_its_name_and_the_ones_the_schema_lists():
    # the plan's names are the montage's labels in lower case, but for two fiducials
    for name, label in LANDMARK_LABELS.items():
        assert label.lower() == {"nasion": "nz", "inion": "iz"}.get(name, name), (name, label)
    described = plan_schema()["properties"]["landmarks"]["properties"]["points"]["description"]
    listed = re.search(r"the 10-05 positions \(([^)]*)\)", described).group(1).split(", ")
    assert len(listed) == len(set(listed)) and set(listed) == set(LANDMARK_LABELS)


def test_fox2012_is_the_default_of_the_library_the_command_and_the_api():
    assert DEFAULT_STRATEGY == "fox2012"  # issue 2: "fox2012 is the default"
    assert PlanOptions().strategy == PlanRequest().strategy == DEFAULT_STRATEGY
    assert build_parser().parse_args(["plan", "t1.nii.gz", "--out", "plan"]).strategy == DEFAULT_STRATEGY


def test_the_hand_knob_is_the_coordinate_its_citation_quotes():
    quoted = re.search(rf"MNI \({NUMBER}, {NUMBER}, {NUMBER}\)", M1_HAND_KNOB_CITATION)
    assert tuple(_number(quoted.group(k)) for k in (1, 2, 3)) == M1_HAND_KNOB_MNI_MM
    assert "Yousry et al. 1997 Brain 120:141" in M1_HAND_KNOB_CITATION


def test_without_mne_the_montage_is_said_to_be_missing(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="^MNE-Python is not installed: it provides the 10-05 montage$"):
        montage_path()
