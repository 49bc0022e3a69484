"""cdk-nag AwsSolutions (every acknowledgement carries a reason) and cfn-lint on the synthesized templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks
from synth_helpers import STACK_NAME, Synth


def test_cdk_nag_report_is_clean(any_synth: Synth) -> None:
    report = json.loads((any_synth.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["violations"]


def test_every_acknowledgement_has_a_reason(any_synth: Synth) -> None:
    metadata = json.loads((any_synth.outdir / f"{STACK_NAME}.metadata.json").read_text())
    acknowledged = {
        rule: reason
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    }
    assert any("AwsSolutions-RDS3" in rule for rule in acknowledged)
    for rule, reason in acknowledged.items():
        assert len(reason.strip()) > 20, f"{rule} needs a real justification"


def test_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = Stack(app, "Bad")
    sqs.Queue(stack, "Queue")  # no DLQ, no SSL enforcement: AwsSolutions errors
    with pytest.raises(RuntimeError, match="Validation"):
        app.synth()


def test_cfn_lint_clean(any_synth: Synth) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            "W3005",
            "--",
            str(any_synth.template_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
