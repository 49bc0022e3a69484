"""cdk-nag 3 helpers: acknowledge findings with their reason right next to the code they concern."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge ``{rule id: reason}`` on ``construct`` and everything below it.

    A finding with a bracket suffix (``AwsSolutions-IAM4[Policy::...]``) needs its own exact id.
    """
    validations = Validations.of(construct)
    for rule_id, reason in reasons.items():
        validations.acknowledge(Acknowledgment(id=rule_id, reason=reason))
