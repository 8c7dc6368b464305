"""What a step handler is given: the repository, the plan, its journal, and where to report.

``execute`` runs the handlers and the step modules (``code_steps``, ``data_steps``) define
them; both import this module, so neither needs the other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from rollback.errors import OperationError
from rollback.git.repo import GitRepo
from rollback.plan import Plan, Step
from rollback.run.journal import Journal

if TYPE_CHECKING:
    from rollback.data.project import Project

Handler = Callable[["RunContext", Step], dict[str, Any]]


class Reporter(Protocol):
    def step_started(self, index: int, step: Step) -> None: ...

    def progress(self, component: str, done: int, total: int | None) -> None:
        """Bytes of the running data step (``snapshots.base.Progress`` signature)."""

    def step_done(self, index: int, step: Step, result: dict[str, Any]) -> None: ...


class SilentReporter:
    def step_started(self, index: int, step: Step) -> None:
        pass

    def progress(self, component: str, done: int, total: int | None) -> None:
        pass

    def step_done(self, index: int, step: Step, result: dict[str, Any]) -> None:
        pass


class RunContext:
    def __init__(
        self, repo: GitRepo, plan: Plan, journal: Journal, reporter: Reporter | None = None
    ) -> None:
        self.repo = repo
        self.plan = plan
        self.journal = journal
        self.progress = (reporter or SilentReporter()).progress  # data steps report bytes here
        self.written: str | None = None  # the last commit written by a write-commits step
        self.index = 0  # the step running now
        for i in range(len(plan.steps)):
            result = journal.result(i)
            if "written" in result:
                self.written = str(result["written"])

    @cached_property
    def project(self) -> Project:
        """The project's settings, read once per run (data steps open their provider here)."""
        from rollback.data.project import load_project

        return load_project(self.repo.root)

    def intend(self, intent: dict[str, Any]) -> None:
        """Journal what the running step is about to do, before it does it."""
        self.journal.mark(self.index, "started", intent=intent)

    def resolve(self, sha: str) -> str:
        if sha == "@written":
            if self.written is None:
                raise OperationError("internal: no commits were written before moving the branch")
            return self.written
        return sha
