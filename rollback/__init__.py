"""rollback: roll code (git) and data (snapshots) back together, safely."""

__version__ = "0.1.0"
