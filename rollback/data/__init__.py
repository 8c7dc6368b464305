"""The data side: which migration frameworks a project has, how to downgrade them, which
snapshot fits which code, and the snapshot providers that take and restore the data.

``project`` holds the project's settings, loaded once and passed down; ``frameworks`` and
``downgrades`` read the tree; ``pairing`` decides (pure except for the facts it is handed, plus
``attach``, which gathers them); ``snapshots`` is the only code that touches a data service.
May import: ``git`` and the shared modules; never ``code``, ``run`` or ``ui``.
"""
