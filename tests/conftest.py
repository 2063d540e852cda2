"""Shared fixtures live in tests/fixtures/ as pytest plugins: real supervisord, real sshd, Airflow home."""

pytest_plugins = [
    "tests.fixtures.strict_skips",
    "tests.fixtures.supervisord",
    "tests.fixtures.sshd",
    "tests.fixtures.jobs",
    "tests.fixtures.airflow",
    "tests.fixtures.users",
]
