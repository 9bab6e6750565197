"""Session fixtures for the real test servers (filled in by tests/services)."""
