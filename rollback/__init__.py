"""rollback: roll code (git) and data (snapshots) back together, safely.

The packages follow the flow of a rollback, top to bottom; each imports only those below it
(``tests/test_layout.py`` checks this and that no import circle exists):

- ``cli``: parse the command line, delegate, map errors to exit codes.
- ``ui``: commands, the wizard, renders, the runbook, the demo. Asks and shows; decides nothing.
- ``run``: execute a plan (preflight, safety ref, steps, journal); resume, abort, undo.
- ``code``: the code strategies (pure) and the planner that feeds them facts from git.
- ``data``: migration frameworks, downgrades, pairing snapshots with code, snapshot providers.
- ``git``: the only gateway to git (``git.repo``) and the history read from it.
- shared values at the top level: ``plan`` (the Plan), ``config`` (the project's settings),
  ``proc`` (the one process runner), ``errors`` (the error family and exit codes).
"""

__version__ = "0.1.0"
