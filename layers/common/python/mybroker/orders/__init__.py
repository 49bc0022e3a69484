"""The orders service: domain (domain.py, service.py), ports, and adapters (repository, publisher, clients)."""
