"""Database errors never carry patient values into exceptions or logs."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from api.models import Patient


def test_a_failed_insert_does_not_print_the_patients_name(client, app):
    # The unhandled-error handler logs the exception: its text must not hold PHI.
    with app.state.db.session() as session:
        session.add(Patient(external_id="MRN-1", name="Jane Q. Example", created_by="t"))
    with pytest.raises(IntegrityError) as failure, app.state.db.session() as session:
        session.add(Patient(external_id="MRN-1", name="Jane Q. Example", created_by="t"))
    assert "Jane Q. Example" not in str(failure.value)
    assert "MRN-1" not in str(failure.value)
