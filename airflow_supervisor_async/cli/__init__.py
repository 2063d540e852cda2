"""The ``airflow-supervisor-async`` command line."""
