"""Test support code that is not a pytest fixture file: remote hosts in network namespaces, fault helpers
and the faults table. Importable by tests and benchmarks alike."""
