"""Test support code that is not a pytest fixture file: remote hosts in network namespaces, fault helpers,
the faults table and the /proc readers. Importable by tests and benchmarks alike."""
