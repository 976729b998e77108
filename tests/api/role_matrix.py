"""Which roles may use which operation: the table the role-matrix test checks.

Every operation of the API must appear here; a new route fails
``test_every_route_is_in_the_matrix`` until its row is added. Path parameters are
filled with ids of existing records where the test has them, else with unknown ids.
"""

ALL = ("admin", "clinician", "technician", "navigator", "auditor")
CLINICAL_WRITE = ("clinician", "technician")
CLINICAL_READ = ("clinician", "technician", "auditor")
PLAN_READ = ("clinician", "technician", "auditor", "navigator")

#: (method, path template) -> roles allowed
MATRIX = {
    ("GET", "/api/v1/me"): ALL,
    ("POST", "/api/v1/patients"): CLINICAL_WRITE,
    ("GET", "/api/v1/patients"): CLINICAL_READ,
    ("GET", "/api/v1/patients/{patient_id}"): CLINICAL_READ,
    ("POST", "/api/v1/patients/{patient_id}/images"): CLINICAL_WRITE,
    ("GET", "/api/v1/patients/{patient_id}/images"): CLINICAL_READ,
    ("GET", "/api/v1/images/{image_id}"): CLINICAL_READ,
    ("POST", "/api/v1/images/{image_id}/plans"): CLINICAL_WRITE,
    ("GET", "/api/v1/jobs"): CLINICAL_READ,
    ("GET", "/api/v1/jobs/{job_id}"): CLINICAL_READ,
    ("GET", "/api/v1/plans"): PLAN_READ,
    ("GET", "/api/v1/plans/{plan_id}"): PLAN_READ,
    ("POST", "/api/v1/plans/{plan_id}/approval"): ("clinician",),
    ("GET", "/api/v1/plans/{plan_id}/exports/{format}"): PLAN_READ,
    ("GET", "/api/v1/plans/{plan_id}/report"): PLAN_READ,
    ("GET", "/api/v1/audit"): ("admin", "auditor"),
    # Treatment courses (scheduler); transcribed from its routes, to be checked
    # against the scheduler's issue by its author.
    ("POST", "/api/v1/patients/{patient_id}/courses"): ("clinician",),
    ("GET", "/api/v1/patients/{patient_id}/courses"): CLINICAL_READ,
    ("GET", "/api/v1/courses/{course_id}"): CLINICAL_READ,
    ("POST", "/api/v1/courses/{course_id}/pause"): CLINICAL_WRITE,
    ("POST", "/api/v1/courses/{course_id}/resume"): CLINICAL_WRITE,
    ("POST", "/api/v1/courses/{course_id}/stop"): ("clinician",),
    ("GET", "/api/v1/courses/{course_id}/sessions"): PLAN_READ,
    ("GET", "/api/v1/sessions/{session_id}"): PLAN_READ,
    ("POST", "/api/v1/sessions/{session_id}/delivery"): ("clinician", "technician", "navigator"),
    ("POST", "/api/v1/sessions/{session_id}/missed"): CLINICAL_WRITE,
    ("POST", "/api/v1/courses/{course_id}/assessments"): CLINICAL_WRITE,
    ("GET", "/api/v1/courses/{course_id}/assessments"): CLINICAL_READ,
    ("POST", "/api/v1/assessments/{assessment_id}/amendments"): ("clinician",),
    ("GET", "/api/v1/assessments/{assessment_id}/versions"): CLINICAL_READ,
    ("POST", "/api/v1/courses/{course_id}/ratings-not-obtained"): ("clinician",),
    ("GET", "/api/v1/courses/{course_id}/ratings-not-obtained"): CLINICAL_READ,
    ("POST", "/api/v1/courses/{course_id}/ratings-not-obtained/{record_id}/withdrawal"): ("clinician",),
    ("GET", "/api/v1/courses/{course_id}/alerts"): CLINICAL_READ,
    ("GET", "/api/v1/alerts"): CLINICAL_READ,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledgement"): ("clinician",),
    ("GET", "/api/v1/screening/questionnaire"): ALL,
    ("PUT", "/api/v1/courses/{course_id}/screening"): CLINICAL_WRITE,
    ("GET", "/api/v1/courses/{course_id}/screening"): CLINICAL_READ,
    ("POST", "/api/v1/courses/{course_id}/screening/override"): ("clinician",),
    ("GET", "/api/v1/courses/{course_id}/summary"): CLINICAL_READ,
    ("GET", "/api/v1/courses/{course_id}/summary.png"): CLINICAL_READ,
    ("GET", "/api/v1/courses/{course_id}/summary.csv"): CLINICAL_READ,
    ("GET", "/api/v1/schedule"): CLINICAL_READ,
    ("GET", "/api/v1/assessments/due"): CLINICAL_READ,
    ("POST", "/api/v1/calendars"): ("admin", "clinician"),
    ("GET", "/api/v1/calendars/{calendar_id}"): ("clinician", "technician", "auditor", "admin"),
    ("PATCH", "/api/v1/calendars/{calendar_id}"): ("admin", "clinician"),
}
