"""DAG factories: wire the ten steps of a supervisord job into an Airflow DAG."""

from .supervisor import Supervisor, SupervisorLocal, SupervisorRemote

__all__ = ("Supervisor", "SupervisorLocal", "SupervisorRemote")
