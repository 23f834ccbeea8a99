"""Problems found in raw annotations, collected into one readable report.

Readers and validators never stop at the first problem: they append :class:`Problem` records to a
:class:`Findings`, and the caller (a builder, ``pixbench check-annotations``) decides whether errors
stop the work. Every problem names the file, the record (image id, annotation id or row) and the field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pixbench.problems import ProblemLog

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding: where it is (file, record, field) and what is wrong."""

    severity: Severity
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.record}" if self.record else self.file
        if self.field:
            where += f" [{self.field}]"
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class Findings:
    """An ordered list of problems with helpers to add and summarise them."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, file: str, record: str, field: str, message: str) -> None:
        self.problems.append(Problem("error", file, record, field, message))

    def warning(self, file: str, record: str, field: str, message: str) -> None:
        self.problems.append(Problem("warning", file, record, field, message))

    def extend(self, other: Findings) -> None:
        self.problems.extend(other.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self, limit: int | None = 200) -> str:
        """Errors first, then warnings, at most ``limit`` lines, then a count line."""
        log: ProblemLog[Problem] = ProblemLog(limit)
        for problem in self.errors + self.warnings:
            log.add(problem)
        lines = log.lines()
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)

    def counts_by_message(self) -> Counter[str]:
        """How often each kind of problem occurs (message text up to its first ':')."""
        return Counter(f"{p.severity}: {p.message.split(':')[0]}" for p in self.problems)


class AnnotationError(ValueError):
    """Raised when a report holds errors and the work cannot go on; carries the report."""

    def __init__(self, report: Findings, what: str = "annotations") -> None:
        self.report = report
        super().__init__(f"{len(report.errors)} problem(s) in the {what}:\n{report.format()}")
