"""Shared code of My Broker B3, shipped to every function as the ``common`` Lambda layer."""
