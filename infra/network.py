"""The VPC: public and isolated subnets, no NAT Gateway, and the security groups every tier uses.

Nothing here costs money by itself.  The isolated subnets reach the internet (AWS APIs, MongoDB Atlas,
the quote provider) only through the engine host, which doubles as a NAT instance (see
:meth:`Network.route_through`); ``docs/deploy.md`` explains why that beats a NAT Gateway or interface
endpoints for this system.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.nag import acknowledge

PUBLIC = "public"
PRIVATE = "private"
VPC_CIDR = "10.60.0.0/16"
KAFKA_SASL_SSL_PORT = 9096
REDIS_TLS_PORT = 6379
# What the functions (and the Kafka mappings' pollers) reach through the host's NAT: AWS APIs, the quote
# provider and MongoDB Atlas.  Nothing else from the VPC reaches the host.
NAT_PORTS = {443: "HTTPS: AWS APIs, the quote provider", 27017: "MongoDB Atlas"}


class Network(Construct):
    """VPC over two AZs (RDS needs a subnet group in two), plus the security groups of each tier."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name=PUBLIC, subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name=PRIVATE, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                ),
            ],
            # S3 gateway endpoints are free; the host pulls its source bundle through it.
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        acknowledge(
            self.vpc,
            {
                "AwsSolutions-VPC7": "Flow logs cost $0.50 per GB ingested; this demo VPC has no "
                "internet-facing "
                "ingress (the host's security group admits only VPC traffic) and no compliance need for them."
            },
        )
        self.private_subnets = ec2.SubnetSelection(subnet_group_name=PRIVATE)
        self.public_subnets = ec2.SubnetSelection(subnet_group_name=PUBLIC)

        self.functions_sg = ec2.SecurityGroup(
            self, "FunctionsSg", vpc=self.vpc, description="Lambda functions and event source mapping pollers"
        )
        self.database_sg = ec2.SecurityGroup(
            self, "DatabaseSg", vpc=self.vpc, description="RDS MySQL", allow_all_outbound=False
        )
        self.broker_sg = ec2.SecurityGroup(self, "BrokerSg", vpc=self.vpc, description="Amazon MQ RabbitMQ")
        self.host_sg = ec2.SecurityGroup(
            self, "HostSg", vpc=self.vpc, description="Engine host: Kafka, Redis, engine, NAT for the VPC"
        )
        # only the functions that declare "redis" carry this group, and only it reaches Redis on the host
        self.redis_clients_sg = ec2.SecurityGroup(
            self, "RedisClientsSg", vpc=self.vpc, description="Functions that use Redis on the engine host"
        )

        self.database_sg.add_ingress_rule(self.functions_sg, ec2.Port.tcp(3306), "functions to MySQL")
        self.database_sg.add_ingress_rule(self.host_sg, ec2.Port.tcp(3306), "host (migrations) to MySQL")
        self.broker_sg.add_ingress_rule(self.functions_sg, ec2.Port.tcp(5671), "functions to AMQPS")
        self.broker_sg.add_ingress_rule(self.host_sg, ec2.Port.tcp(5671), "engine to AMQPS")
        self.broker_sg.add_ingress_rule(self.host_sg, ec2.Port.tcp(443), "host loads queue definitions")
        self.broker_sg.add_ingress_rule(self.broker_sg, ec2.Port.all_tcp(), "MQ event source pollers")
        # The host is the functions' NAT (a security group sees forwarded packets with their final
        # destination port), their Kafka (SASL_SSL) and, for the Redis clients alone, their Redis (TLS +
        # AUTH).  Nothing else from the VPC, nothing from the internet.
        for port, what in NAT_PORTS.items():
            self.host_sg.add_ingress_rule(self.functions_sg, ec2.Port.tcp(port), f"NAT for functions: {what}")
        self.host_sg.add_ingress_rule(
            self.functions_sg, ec2.Port.tcp(KAFKA_SASL_SSL_PORT), "functions and Kafka pollers to Kafka"
        )
        self.host_sg.add_ingress_rule(
            self.redis_clients_sg, ec2.Port.tcp(REDIS_TLS_PORT), "Redis clients to Redis (TLS, AUTH)"
        )

    def route_through(self, instance: ec2.Instance) -> None:
        """Give every isolated subnet a default route through ``instance`` (a NAT instance)."""
        for index, subnet in enumerate(self.vpc.isolated_subnets):
            ec2.CfnRoute(
                self,
                f"NatRoute{index}",
                route_table_id=subnet.route_table.route_table_id,
                destination_cidr_block="0.0.0.0/0",
                instance_id=instance.instance_id,
            )
