"""Test support code that is not a pytest fixture file: the real-Airflow harness (``airflow/``), remote hosts in
network namespaces, fault helpers, the faults table and the /proc readers. Importable by tests and benchmarks alike."""
