"""plan.json is strict JSON: a non-finite number stops the plan instead of reaching a navigator."""

from __future__ import annotations

import json
import pytest

from navsvc.errors import PipelineError
from navsvc.plan_document import plan_json


def test_a_finite_plan_is_written_as_indented_json():
    plan = {"target": {"cortex_ras_mm": [-38.0, 44.0, 26.0]}, "dose": {"mt_offset_pct_mso": 4.5}}
    assert json.loads(plan_json(plan)) == plan
    assert plan_json(plan).startswith('{\n  "target"')


@pytest.mark.parametrize("bad, where", [
    (float("nan"), "plan.dose.mt_offset_pct_mso"),
    (float("inf"), "plan.dose.mt_offset_pct_mso"),
    ([0.0, float("-inf")], "plan.dose.mt_offset_pct_mso[1]"),
])
def test_a_non_finite_value_is_named_and_nothing_is_written(bad, where):
    plan = {"target": {"cortex_ras_mm": [-38.0, 44.0, 26.0]}, "dose": {"mt_offset_pct_mso": bad}}
    with pytest.raises(PipelineError) as err:
        plan_json(plan)
    assert str(err.value) == (f"the plan's value {where} is not a finite number, so no plan is written: report "
                              "this as a bug with the input image")
