"""The remote refs a run pushed: what each was before, and putting it back.

A push step records its intent before it pushes (remote, ref, the value before when it is
known: none for a new branch, which is pushed with an empty lease so that it cannot replace
one; the lease for a force push), so that a failure after it, or an abort, can return the
remote ref with a lease on exactly what was pushed, and say so after reading the remote.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollback.errors import RollbackError
from rollback.git.repo import GitRepo
from rollback.run.journal import Journal

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Pushed:
    remote: str
    ref: str  # refs/heads/...
    before: str | None  # None: the remote had no such ref
    pushed: str
    now: str | None  # read from the remote after putting back

    @property
    def name(self) -> str:
        return f"{self.remote}/{self.ref.removeprefix('refs/heads/')}"

    def describe_back(self) -> str:
        if self.before is None:
            return f"{self.name} is not on the remote (this run had pushed it; deleted)"
        return f"{self.name} is at {self.before[:10]} as before"

    def describe_not_back(self) -> str:
        want = "absent" if self.before is None else f"at {self.before[:10]}"
        return f"{self.name} is at {str(self.now)[:10]}, was {want}"

    def command(self) -> str:
        branch = self.ref.removeprefix("refs/heads/")
        lease = f"--force-with-lease={self.ref}:{self.now or ''}"
        if self.before is None:
            return f"git push {lease} {self.remote} --delete {branch}"
        return f"git push {lease} {self.remote} {self.before}:{self.ref}"


def intents(journal: Journal) -> list[dict[str, str | None]]:
    """The push intents of the steps that started, in run order."""
    found = []
    for i, step in enumerate(journal.plan.steps):
        if step.kind == "push" and journal.started(i):
            intent = journal.intent(i)
            if intent.get("ref"):
                found.append(intent)
    return found


def ls_remote(repo: GitRepo, remote: str, refs: list[str]) -> dict[str, str]:
    out = repo.git("ls-remote", "--", remote, *refs)
    values = {}
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        values[name] = sha
    return values


def put_back(repo: GitRepo, journal: Journal) -> list[Pushed]:
    """Return every remote ref this run pushed to its value before; read back what is true."""
    wanted = [i for i in intents(journal) if i.get("before") != UNKNOWN]
    result: list[Pushed] = []
    for intent in reversed(wanted):
        remote, ref = str(intent["remote"]), str(intent["ref"])
        before, pushed = intent.get("before"), str(intent["pushed"])
        try:
            now = ls_remote(repo, remote, [ref]).get(ref)
            if now == pushed and now != before:
                lease = f"--force-with-lease={ref}:{pushed}"
                source = f"{before}:{ref}" if before else f":{ref}"
                repo.git("push", "--porcelain", lease, remote, source)
                now = ls_remote(repo, remote, [ref]).get(ref)
        except RollbackError:
            now = pushed  # could not reach or change it: reported as not back
        result.append(Pushed(remote, ref, before, pushed, now))
    return result
