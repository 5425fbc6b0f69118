"""The checker: a student's own loss and gradients against ours, the bug named (docs: check.md).

from common.check import check_function
report = check_function(loss_and_grads)   # a Report: report.verdict, report.bugs, print(report)
"""

from common.check.file import check_file
from common.check.function import check_function
from common.check.report import RegimeResult, Report

__all__ = ["RegimeResult", "Report", "check_file", "check_function"]
