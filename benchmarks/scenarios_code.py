"""Code scenarios: start-up, history listing, restore, revert and revert-selected.

Every command runs as a whole process in a generated repository (or a clone of ``--repo``);
the repository is put back to its original head between runs, outside the timed window.
"""

from __future__ import annotations

import shutil
import subprocess

from benchmarks.context import Context
from benchmarks.genrepo import generate
from benchmarks.measure import Measurement, Row, Run, Scenario, Target, measure, shell

GIT_REVERT_FULL_LIMIT = 1000  # --quick: git revert above this is extrapolated, not run


class CodeRepo:
    """The repository the code scenarios run in, and how to put it back between runs."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.path = ctx.work / "repo"
        if ctx.repo is not None:
            ctx.say(f"cloning {ctx.repo} (local clone, the original is never touched)")
            subprocess.run(
                ["git", "clone", "-q", "--local", str(ctx.repo), str(self.path)],
                check=True,
                env=ctx.env,
            )
            self.described = f"a local clone of {ctx.repo}"
        else:
            commits = max(ctx.sizes) + 20
            ctx.say(f"generating a repository of {commits} first-parent commits")
            made = generate(self.path, commits=commits)
            self.described = (
                f"generated: {made.first_parent} first-parent commits, a merge every 5, "
                f"{made.files}+ files, built by git fast-import in {made.seconds:.1f} s"
            )
        self.git("config", "gc.auto", "0")
        self.head = self.git("rev-parse", "HEAD")
        self.branch = self.git("symbolic-ref", "--short", "HEAD")
        self.tracked = int(self.git("ls-files").count("\n")) + 1

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=self.ctx.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def reset(self) -> None:
        """Back to the original head: branch, index, work tree; no rollback refs or journal."""
        self.git("reset", "-q", "--hard", self.head)
        refs = self.git("for-each-ref", "--format=delete %(refname)", "refs/rollback")
        if refs:
            subprocess.run(
                ["git", "update-ref", "--stdin"],
                cwd=self.path,
                env=self.ctx.env,
                input=refs + "\n",
                text=True,
                check=True,
            )
        shutil.rmtree(self.path / ".git" / "rollback", ignore_errors=True)

    def first_parents(self, n: int) -> list[str]:
        """The newest ``n`` first-parent commits, newest first."""
        return self.git("rev-list", "--first-parent", f"-{n}", self.head).split()

    def result_log(self) -> str:
        """Tree and message of every commit added on top of the original head."""
        return self.git("log", "--format=%T%n%B", f"{self.head}..HEAD")

    def run(self, label: str, args: list[str], runs: int, note: str = "") -> Measurement:
        return measure(
            label,
            args,
            runs=runs,
            cwd=self.path,
            env=self.ctx.env,
            before=self.reset,
            note=note,
        )


def startup(ctx: Context, repo: CodeRepo) -> list[Scenario]:
    """``rollback --version`` vs ``python -c pass``; ``rollback log`` vs ``import git``."""
    runs = ctx.runs("fast")
    ver = Scenario("version", "Start-up: rollback --version")
    ours = measure("rollback --version", [*ctx.rollback, "--version"], runs=runs, warmup=True)
    ours.command = "rollback --version"
    base = measure("python -c pass", [ctx.python, "-c", "pass"], runs=runs, warmup=True)
    ver.rows.append(Row("start-up", None, ours, [base]))
    ver.targets.append(_at_most("rollback --version ≤ 4× python -c pass", ours, base, 4.0))

    log = Scenario("log", "History: rollback log --limit 50")
    ours = measure(
        "rollback log --limit 50",
        [*ctx.rollback, "log", "--limit", "50"],
        runs=runs,
        cwd=repo.path,
        env=ctx.env,
        warmup=True,
    )
    base = measure(
        "python -c 'import git'", [ctx.python, "-c", "import git"], runs=runs, warmup=True
    )
    log.rows.append(Row("50 commits", 50, ours, [base]))
    log.targets.append(
        _at_most("rollback log --limit 50 ≤ 1.6× python -c 'import git'", ours, base, 1.6)
    )
    return [ver, log]


def restore_and_revert(ctx: Context, repo: CodeRepo) -> list[Scenario]:
    """restore and revert at each N, next to git revert (shared) and the plumbing script."""
    restore = Scenario("restore", "restore: one commit whose tree is HEAD~N's tree")
    revert = Scenario("revert", "revert: one revert commit per first-parent commit")
    per_commit: float | None = None  # git revert seconds per commit, for extrapolation
    for n in ctx.sizes:
        ctx.say(f"restore/revert N = {n}")
        commits = repo.first_parents(n)
        git_revert: Measurement | None = None
        expected_log: str | None = None
        if (ctx.quick and n > GIT_REVERT_FULL_LIMIT) or (per_commit and per_commit * n > 900):
            git_revert = _extrapolated(n, per_commit)
        else:
            runs = 1 if n >= 1000 else ctx.runs("slow")
            git_revert = repo.run(
                "git revert", ["git", "revert", "--no-edit", "-m", "1", *commits], runs
            )
            git_revert.command = f"git revert --no-edit -m 1 <the {n} first-parent commits>"
            expected_log = repo.result_log()
            per_commit = git_revert.median / n
        script = (
            f"old=$(git rev-parse HEAD); new=$(git commit-tree 'HEAD~{n}^{{tree}}' -p HEAD "
            f"-m 'Restore to HEAD~{n}'); git update-ref -m restore refs/heads/{repo.branch} "
            '"$new" "$old"; git reset -q --hard'
        )
        plumbing = repo.run("plumbing script", shell(script), ctx.runs("medium"))
        plumbing.command = "commit-tree HEAD~N^{tree} -p HEAD + update-ref + reset --hard"
        ours = repo.run(
            "rollback restore",
            [
                *ctx.rollback,
                "plan",
                "--to",
                f"HEAD~{n}",
                "--strategy",
                "restore",
                "--apply",
                "--yes",
            ],
            ctx.runs("medium"),
        )
        restore.rows.append(Row(f"N = {n:,}", n, ours, [git_revert, plumbing]))
        if n == 1000:
            restore.targets.append(
                _at_least("restore of 1,000 ≥ 40× faster than git revert", ours, git_revert, 40.0)
            )
            restore.targets.append(
                _at_most("restore of 1,000 ≤ 2× the plumbing script", ours, plumbing, 2.0)
            )
        runs = ctx.runs("slow") if n < 1000 else ctx.runs("slow") - 1 or 1
        ours_revert = repo.run(
            "rollback revert",
            [
                *ctx.rollback,
                "plan",
                "--to",
                f"HEAD~{n}",
                "--strategy",
                "revert",
                "--apply",
                "--yes",
            ],
            runs,
        )
        row = Row(f"N = {n:,}", n, ours_revert, [git_revert])
        same = _same_as_git(repo, expected_log)
        row.notes.append(same)
        revert.rows.append(row)
        if n == 1000:
            target = _at_least(
                "revert of 1,000 ≥ 20× faster than git revert, same trees and messages",
                ours_revert,
                git_revert,
                20.0,
            )
            if not same.startswith("identical"):
                target.met = False
            target.measured += f"; {same}"
            revert.targets.append(target)
        repo.reset()
    restore.notes.append(f"Repository: {repo.described}.")
    return [restore, revert]


def _same_as_git(repo: CodeRepo, expected: str | None) -> str:
    """Compare the trees and messages our last run wrote with git revert's."""
    if expected is None:
        return "not compared (git revert not run at this size)"
    ours = repo.result_log()
    count = expected.count("This reverts commit")
    if ours == expected:
        return f"identical trees and messages ({count} commits)"
    return "DIFFERENT from git revert (trees or messages)"


def _extrapolated(n: int, per_commit: float | None) -> Measurement:
    m = Measurement("git revert", f"git revert --no-edit -m 1 <the {n} first-parent commits>")
    if per_commit is not None:
        m.runs.append(Run(per_commit * n, 0))
        m.note = f"EXTRAPOLATED, not run: {per_commit * 1000:.1f} ms/commit × {n:,}"
    return m


def revert_selected(ctx: Context, repo: CodeRepo) -> list[Scenario]:
    """Conflict prediction for 100 selected commits vs a shell loop of ``git merge-tree``."""
    sc = Scenario("revert-selected", "revert-selected: conflict prediction (plan, no apply)")
    count = 10 if ctx.smoke else 100
    line = repo.first_parents(min(3 * count, max(ctx.sizes)))
    chosen = line[::3][:count]  # every third commit, newest first; no file touched twice
    ours = repo.run(
        "rollback plan revert-selected",
        [*ctx.rollback, "plan", "--strategy", "revert-selected", "--commits", ",".join(chosen)],
        ctx.runs("medium"),
    )
    ours.command = f"rollback plan --strategy revert-selected --commits <{len(chosen)} shas>"
    loop = (
        "onto=$(git rev-parse HEAD^{tree}); "
        f"for c in {' '.join(chosen)}; do "
        'a=$(git commit-tree "$onto" -p "$c" -m x); '
        'b=$(git commit-tree "$c^1^{tree}" -p "$c" -m x); '
        'out=$(git merge-tree --write-tree --name-only --no-messages "$a" "$b" || true); '
        "onto=${out%%$'\\n'*}; done"
    )
    base = repo.run("git merge-tree loop", shell(loop), ctx.runs("medium"))
    base.command = "for each commit: 2× git commit-tree + git merge-tree --write-tree (bash)"
    sc.rows.append(Row(f"{len(chosen)} commits", len(chosen), ours, [base]))
    picked = (
        f"The {len(chosen)} commits are every third first-parent commit among the newest "
        f"{len(line)}"
    )
    if ctx.repo is None:
        sc.notes.append(f"{picked}; none conflicts, so both sides predict every one of them.")
    else:  # a real history may conflict: rollback stops at the first, the loop goes on
        sc.notes.append(f"{picked}; rollback stops at the first predicted conflict, if any.")
    return [sc]


def _at_most(text: str, ours: Measurement, base: Measurement, limit: float) -> Target:
    r = ours.median / base.median
    return Target(text, f"{r:.2f}×", r <= limit)


def _at_least(text: str, ours: Measurement, base: Measurement | None, factor: float) -> Target:
    if base is None or not base.runs:
        return Target(text, "git revert not measured", None)
    speedup = base.median / ours.median
    extra = " (git revert extrapolated)" if "EXTRAPOLATED" in base.note else ""
    return Target(text, f"{speedup:.1f}× faster{extra}", speedup >= factor)


def run_code(ctx: Context, only: set[str]) -> list[Scenario]:
    """Every code scenario selected by ``only`` (empty: all)."""

    def want(key: str) -> bool:
        return not only or key in only

    if not any(want(k) for k in ("version", "log", "restore", "revert", "revert-selected")):
        return []
    repo = CodeRepo(ctx)
    out: list[Scenario] = []
    if want("version") or want("log"):
        out += [s for s in startup(ctx, repo) if want(s.key)]
    if want("restore") or want("revert"):
        out += [s for s in restore_and_revert(ctx, repo) if want(s.key)]
    if want("revert-selected"):
        out += revert_selected(ctx, repo)
    repo.reset()
    return out
