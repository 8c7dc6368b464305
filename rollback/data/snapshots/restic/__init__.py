"""The ``restic`` snapshot provider: deduplicated, encrypted, local or remote repositories.

``settings`` reads ``[tool.rollback.restic]``; ``driver`` runs the restic program (argument
lists, ``--json`` NDJSON read by ``message_type``, exit codes mapped to ours); ``parts``
restores one component from the repository; ``provider`` lists, creates, restores, verifies
and prunes snapshot sets. Imported only when the provider is chosen.
"""
