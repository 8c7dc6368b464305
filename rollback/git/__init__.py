"""Git: the one gateway (``repo``, the only GitPython importer) and the history read through it.

Owns every git process and object write, and the first-parent history with its annotations
(tags, merges, pushed, data-touching files). May import: the shared modules (``errors``,
``proc``) only; never ``data``, ``code``, ``run`` or ``ui``.
"""
