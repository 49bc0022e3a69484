"""My Broker B3's client: a typed SDK over the HTTP API (:class:`Client`), Cognito login with a per-profile
token cache (:mod:`mybroker_client.auth`) and the ``mybroker`` command line (:mod:`mybroker_client.cli`)."""

from mybroker_client.auth import Auth, AuthError, TokenStore
from mybroker_client.client import ApiError, Client
from mybroker_client.config import ConfigError, Target, deployed_target, local_target

__all__ = ["ApiError", "Auth", "AuthError", "Client", "ConfigError", "Target", "TokenStore", "deployed_target",
           "local_target"]
