"""Airflow hooks: build clients for a supervisord endpoint, resolving secrets from Airflow connections."""

from .supervisor import SupervisorHook

__all__ = ("SupervisorHook",)
