"""The names of the files a plan's output folder holds (light: the API imports it)."""

#: the plan document
PLAN_FILENAME = "plan.json"
#: the visual QC report
REPORT_FILENAME = "report.html"
#: the folder of the registration's transform files (ANTs/ITK)
TRANSFORMS_FOLDER = "transforms"
