"""Pairing code with data: assess ► decide ► attach.

``assess`` compares the target with the snapshots and the migrations in between; ``decide``
recommends and checks the user's choice; ``serialize`` writes the plan's ``data`` section;
``attach`` gathers the facts (history, snapshot listing, downgrades) and inserts the data steps
into a plan. May import: ``data.frameworks``, ``data.downgrades``, ``data.project``,
``data.snapshots`` (their values), ``git`` and the shared modules.
"""
