"""Observability: alarms on function errors, on every dead-letter queue's depth and on the wallet's floor
refusing a posting, and a monthly budget, all notifying one SNS topic (optionally mailed to
``-c alarm_email=...``).

``FloorRefused``: the wallet refuses any posting that would take a balance below zero (a fill, a settlement,
a release, a withdrawal); nothing moves, and the refusal means a bug or an attack somewhere upstream, so one in
five minutes alarms. The wallet functions emit it with the fixed dimension ``service=wallet``
(``mybroker/wallet/floor_metric.py``) so that one alarm covers them all: $0.10 a month beyond the ten free
alarms, on the topic the other alarms already use (no new topic, no new cost).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.compute import METRICS_NAMESPACE, construct_id
from infra.declarations import System
from infra.nag import acknowledge

FLOOR_REFUSED_METRIC = "FloorRefused"
FLOOR_REFUSED_DIMENSIONS = {"service": "wallet"}  # = mybroker.wallet.floor_metric (tests/infra checks it)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        system: System,
        functions: dict[str, lambda_.Function],
        broker_name: str,
        monthly_budget_usd: float,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id_)
        self.topic = sns.Topic(self, "Alarms", topic_name="mybroker-alarms", enforce_ssl=True)
        acknowledge(
            self.topic,
            {
                "AwsSolutions-SNS2": "Alarm and budget notifications carry no sensitive data, and CloudWatch "
                "and Budgets cannot publish to a topic under the AWS-managed key (a customer key costs "
                "$1/month)."
            },
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["SNS:Publish"],
                resources=[self.topic.topic_arn],
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = cw_actions.SnsAction(self.topic)

        self.alarms: list[cloudwatch.Alarm] = []
        for name, handle in functions.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{construct_id(name)}Errors",
                alarm_name=f"mybroker-{name}-errors",
                alarm_description=f"{name} raised errors",
                metric=handle.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)
        for queue in system.queues:
            alarm = cloudwatch.Alarm(
                self,
                f"{construct_id(queue.dead_letter_queue)}Depth",
                alarm_name=f"mybroker-{queue.dead_letter_queue}-depth",
                alarm_description=f"messages dead-lettered from {queue.name}",
                metric=cloudwatch.Metric(
                    namespace="AWS/AmazonMQ",
                    metric_name="MessageCount",
                    dimensions_map={
                        "Broker": broker_name,
                        "VirtualHost": queue.vhost,
                        "Queue": queue.dead_letter_queue,
                    },
                    period=Duration.minutes(5),
                    statistic="Maximum",
                ),
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)

        self.floor_refused = cloudwatch.Alarm(
            self,
            "FloorRefused",
            alarm_name="mybroker-wallet-floor-refused",
            alarm_description="the wallet refused a posting that would have taken a balance below zero "
            "(nothing moved; find the cause in the wallet functions' logs)",
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=FLOOR_REFUSED_METRIC,
                dimensions_map=FLOOR_REFUSED_DIMENSIONS,
                period=Duration.minutes(5),
                statistic="Sum",
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.floor_refused.add_alarm_action(action)
        self.alarms.append(self.floor_refused)

        subscribers = [
            budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=self.topic.topic_arn)
        ]
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name="mybroker-b3-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_budget_usd, unit="USD"),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, threshold in (("ACTUAL", 80), ("FORECASTED", 100))
            ],
        )
