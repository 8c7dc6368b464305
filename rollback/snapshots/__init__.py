"""Snapshot providers. The rest of rollback talks to them only through ``base.Provider``."""
