"""The code side of a plan: which strategies fit, and the steps each one takes.

``strategies`` is pure (facts in, a Plan out); ``planner`` gathers those facts from git and is
the one planner every entry point uses. May import: ``git``, ``data`` (the project's settings
and migration rules), and the shared modules (``plan``, ``config``, ``errors``).
"""
