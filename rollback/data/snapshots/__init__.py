"""Snapshot providers (``local``, ``restic``, ``magento-cloud``) and the local store's components.

The rest of rollback talks to them only through ``base.Provider``. May import: the shared
modules (``config``, ``errors``, ``proc``); never ``git``, ``code``, ``run`` or ``ui``.
"""
