"""The visual QC report of a plan: ``report.html``, one self-contained file.

>>> from navsvc.report.document import ReportInputs, write_report
>>> write_report(out_dir, plan, inputs)  # doctest: +SKIP
PosixPath('.../report.html')

The package itself imports nothing: a process that draws one figure
(:mod:`navsvc.report.figure_process`) loads that figure's modules only.
"""
