"""Running a plan and getting back from one.

``execute`` (preflight ► safety ref ► steps, each journaled) calls the step handlers of
``code_steps`` and ``data_steps``, which all share ``context``; ``journal`` records every step;
``putback`` returns a run to its start; ``recovery`` is status/resume/abort/undo. May import:
``code``, ``data``, ``git`` and the shared modules; never ``ui``.
"""
