"""Data tier: RDS MySQL (one instance, one schema per service) and the MongoDB connection string parameter.

Each service schema has its own MySQL user (named after the schema) with privileges on that schema only.
A function of another service that reads a schema (the streaming pusher reads the wallet's) gets that
schema's read-only user, ``<schema>_ro`` (SELECT only). The engine host creates the users at boot with the
master secret (which nothing else reads) and keeps each one's credentials in a free SSM SecureString
parameter, ``/mybroker/mysql/<schema>`` or ``/mybroker/mysql/<schema>-readonly``; a function may read only
its own user's.

Redis runs on the engine host (``infra/engine_host.py``): an ElastiCache cache.t3.micro would add ≈$12 a
month for what a 50 MB process on an already-paid host does.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.nag import acknowledge
from infra.network import Network

MYSQL_VERSION = rds.MysqlEngineVersion.VER_8_0_42
MYSQL_PORT = 3306
DEFAULT_MONGODB_URI_PARAMETER = "/mybroker/mongodb-uri"
MYSQL_USER_PARAMETER = "/mybroker/mysql/{database}"  # SecureString {"username", "password"}, by the host


@dataclass(frozen=True)
class MysqlUser:
    """One schema's user: its owner (all privileges on the schema) or its read-only reader (SELECT)."""

    database: str
    readonly: bool = False

    @property
    def username(self) -> str:
        return f"{self.database}_ro" if self.readonly else self.database

    @property
    def parameter(self) -> str:
        name = MYSQL_USER_PARAMETER.format(database=self.database)
        return f"{name}-readonly" if self.readonly else name


class Data(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        mongodb_uri_parameter: str,
        databases: tuple[str, ...] = (),
        read_only: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(scope, construct_id)
        self.database = rds.DatabaseInstance(
            self,
            "Mysql",
            engine=rds.DatabaseInstanceEngine.mysql(version=MYSQL_VERSION),
            instance_type=ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
            vpc=network.vpc,
            vpc_subnets=network.private_subnets,
            security_groups=[network.database_sg],
            port=MYSQL_PORT,
            multi_az=False,
            allocated_storage=20,
            max_allocated_storage=20,  # no storage autoscaling: the bill stays what docs/cost.md says
            storage_type=rds.StorageType.GP2,
            storage_encrypted=True,
            publicly_accessible=False,
            iam_authentication=True,
            # CloudFormation cannot create a SecureString parameter, so a generated master password that
            # never appears in a template needs Secrets Manager ($0.40/month); see docs/cost.md.
            credentials=rds.Credentials.from_generated_secret(
                "mybroker", secret_name="mybroker/mysql-master"
            ),
            backup_retention=Duration.days(1),
            deletion_protection=False,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=[],
            enable_performance_insights=False,
            auto_minor_version_upgrade=False,  # the engine version is pinned on purpose
        )
        secret = self.database.secret
        assert secret is not None
        self.secret = secret
        acknowledge(
            self.database,
            {
                "AwsSolutions-RDS3": "Single AZ on purpose: Multi-AZ doubles the $12/month instance.",
                "AwsSolutions-RDS10": "No deletion protection so that `cdk destroy` tears the demo down; "
                "the removal policy keeps a final snapshot.",
                "AwsSolutions-RDS11": "The default port is kept for the application's defaults; only the "
                "functions' and the host's security groups can reach it.",
                "AwsSolutions-SMG4": "Rotation needs a rotation Lambda with network access to RDS and "
                "Secrets "
                "Manager; acceptable for a demo with no real money, and the password never leaves AWS.",
            },
        )
        self.host = self.database.db_instance_endpoint_address
        self.port = MYSQL_PORT

        self.databases = databases
        unknown = read_only - set(databases)
        if unknown:
            raise ValueError(f"read-only users for undeclared databases {sorted(unknown)}")
        self.users = [MysqlUser(db) for db in databases] + [MysqlUser(db, True) for db in sorted(read_only)]

        self.mongodb_uri_parameter = mongodb_uri_parameter
        stack = Stack.of(self)
        self.mongodb_uri_parameter_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=mongodb_uri_parameter.lstrip("/")
        )

    def user(self, database: str, readonly: bool = False) -> MysqlUser:
        user = MysqlUser(database, readonly)
        if user not in self.users:
            raise KeyError(f"no MySQL user {user.username} declared")
        return user

    def user_parameter_arn(self, user: MysqlUser) -> str:
        """The ARN of a user's credentials parameter."""
        return Stack.of(self).format_arn(service="ssm", resource="parameter", resource_name=user.parameter.lstrip("/"))
