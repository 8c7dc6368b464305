"""What the user sees and answers: typer commands, the wizard, renders, runbook, demo.

Asks and shows; decides nothing (the planners and pairing decide). May import every package
below it: ``run``, ``code``, ``data``, ``git`` and the shared modules.
"""
