"""Shared pytest set-up: the real test servers and the simulator are pytest plugins."""

pytest_plugins = ["tests.services.fixtures", "tests.sim_fixtures", "tests.daemon_process"]
