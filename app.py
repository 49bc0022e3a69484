#!/usr/bin/env python3
"""CDK entry point (``cdk.json``: ``python3 app.py``): the MyBrokerB3 stack with cdk-nag AwsSolutions.

Context (``-c key=value``): ``mongodb_uri_parameter``, ``alarm_email``, ``monthly_budget_usd``,
``reserve_concurrency`` (``false`` on new accounts whose concurrency quota is 10), ``selfSignUp`` (``false``: only
an admin creates accounts).
"""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.data import DEFAULT_MONGODB_URI_PARAMETER
from infra.stack import DEFAULT_DEPS_LAYER, STACK_NAME, MyBrokerStack


def build(app: App, deps_layer_dir: Path = DEFAULT_DEPS_LAYER) -> MyBrokerStack:
    """Add the stack and cdk-nag to ``app`` (the tests call this too)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    ctx = app.node.try_get_context
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return MyBrokerStack(
        app,
        STACK_NAME,
        deps_layer_dir=deps_layer_dir,
        mongodb_uri_parameter=ctx("mongodb_uri_parameter") or DEFAULT_MONGODB_URI_PARAMETER,
        alarm_email=ctx("alarm_email"),
        monthly_budget_usd=float(ctx("monthly_budget_usd") or 80),
        reserve_concurrency=str(ctx("reserve_concurrency") or "true").lower() != "false",
        self_sign_up=str(ctx("selfSignUp") or "true").lower() != "false",
        env=Environment(account=account, region=region) if account and region else None,
    )


if __name__ == "__main__":
    application = App()
    build(application)
    application.synth()
