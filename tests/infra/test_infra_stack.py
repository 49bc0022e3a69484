"""``aws_cdk.assertions`` on the synthesized stack: network, data, API, event sources, logs, environment."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template
from synth_helpers import Synth

from infra.compute import LAMBDA_PYTHON, function_name


def test_no_nat_gateway_and_isolated_subnets(any_synth: Synth) -> None:
    template = Template.from_json(any_synth.template)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    # the isolated subnets' only default route goes through the engine host (NAT instance)
    routes = any_synth.resources("AWS::EC2::Route")
    via_instance = [r for r in routes.values() if "InstanceId" in r["Properties"]]
    assert len(via_instance) == 2
    assert all("NatGatewayId" not in r["Properties"] for r in routes.values())


def test_database_is_private_encrypted_and_pinned(synth: Synth) -> None:
    template = Template.from_json(synth.template)
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "DBInstanceClass": "db.t4g.micro",
            "Engine": "mysql",
            "EngineVersion": "8.0.42",
            "MultiAZ": False,
            "AllocatedStorage": "20",
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
        },
    )
    template.has_resource_properties(
        "AWS::AmazonMQ::Broker",
        {"HostInstanceType": "mq.t3.micro", "DeploymentMode": "SINGLE_INSTANCE", "PubliclyAccessible": False},
    )
    for res in synth.resources("AWS::EC2::SecurityGroup").values():
        for rule in res["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"
    for res in synth.resources("AWS::EC2::SecurityGroupIngress").values():
        assert res["Properties"].get("CidrIp") != "0.0.0.0/0"


def test_engine_host(synth: Synth) -> None:
    template = Template.from_json(synth.template)
    template.has_resource_properties(
        "AWS::EC2::Instance", {"InstanceType": "t4g.small", "SourceDestCheck": False}
    )
    template.has_resource_properties("AWS::EC2::Volume", {"Encrypted": True, "VolumeType": "gp3"})


def test_authorizer_on_every_authorized_route(any_synth: Synth) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in any_synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    authorizers = any_synth.resources("AWS::ApiGatewayV2::Authorizer")
    assert len(authorizers) == 1
    ((authorizer_id, authorizer),) = authorizers.items()
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    for route in any_synth.system.routes:
        props = routes[f"{route.method} {route.path}"]
        if route.authorized:
            assert props["AuthorizationType"] == "JWT"
            assert props["AuthorizerId"] == {"Ref": authorizer_id}
        else:
            assert props.get("AuthorizationType", "NONE") == "NONE"


def _function_id(s: Synth, name: str) -> str:
    for lid, res in s.resources("AWS::Lambda::Function").items():
        if res["Properties"]["FunctionName"] == function_name(name):
            return str(lid)
    raise KeyError(name)


def test_rabbitmq_mappings_wired_to_their_queues(extended: Synth) -> None:
    template = Template.from_json(extended.template)
    broker_id = next(iter(extended.resources("AWS::AmazonMQ::Broker")))
    broker = extended.resources("AWS::AmazonMQ::Broker")[broker_id]["Properties"]
    secret_ref = broker["Users"][0]["Password"]["Fn::Join"][1][1]  # the secret behind the broker password
    for source in extended.system.rabbitmq_sources:
        template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": _function_id(extended, source.function)},
                "EventSourceArn": {"Fn::GetAtt": [broker_id, "Arn"]},
                "Queues": [source.queue],
                "BatchSize": source.batch_size,
                "SourceAccessConfigurations": Match.array_with(
                    [
                        {"Type": "BASIC_AUTH", "URI": secret_ref},
                        {"Type": "VIRTUAL_HOST", "URI": extended.system.queue(source.queue).vhost},
                    ]
                ),
            },
        )


def test_kafka_mappings_wired_to_their_topics(extended: Synth) -> None:
    template = Template.from_json(extended.template)
    for source in extended.system.kafka_sources:
        expected: dict[str, Any] = {
            "FunctionName": {"Ref": _function_id(extended, source.function)},
            "Topics": [source.topic],
            "StartingPosition": source.starting_position,
            "MaximumRetryAttempts": source.maximum_retry_attempts if source.provisioned else Match.absent(),
            "ProvisionedPollerConfig": Match.any_value() if source.provisioned else Match.absent(),
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if source.provisioned else Match.absent(),
            "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": source.consumer_group_id},
            "SourceAccessConfigurations": Match.array_with(
                [
                    Match.object_like({"Type": "SASL_SCRAM_512_AUTH"}),
                    Match.object_like({"Type": "VPC_SUBNET"}),
                ]
            ),
        }
        if source.on_failure_topic:
            expected["DestinationConfig"] = {
                "OnFailure": {"Destination": f"kafka://{source.on_failure_topic}"}
            }
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", expected)


def test_every_log_group_has_retention_and_every_function_its_log_group(any_synth: Synth) -> None:
    groups = any_synth.resources("AWS::Logs::LogGroup")
    assert groups
    assert all("RetentionInDays" in g["Properties"] for g in groups.values())
    for res in any_synth.resources("AWS::Lambda::Function").values():
        ref = res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert ref in groups


def test_functions_runtime_and_environment(extended: Synth) -> None:
    by_name = {
        r["Properties"]["FunctionName"]: r["Properties"]
        for r in extended.resources("AWS::Lambda::Function").values()
    }
    for fn in extended.system.functions:
        props = by_name[function_name(fn.name)]
        assert props["Runtime"] == LAMBDA_PYTHON and props["Architectures"] == ["arm64"]
        assert len(props["Layers"]) == 2
        env = props["Environment"]["Variables"]
        assert env["MYBROKER_STAGE"] == "aws"
        assert env["POWERTOOLS_SERVICE_NAME"] == fn.name
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MyBrokerB3"
        expected = {
            "mysql": {"MYSQL_HOST", "MYSQL_PORT", "MYSQL_SECRET_ARN"},
            "redis": {"REDIS_URL"},
            "rabbitmq": {"RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_SECRET_ARN"},
            "kafka": {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_SECRET_ARN"},
            "mongodb": {"MONGODB_URI_PARAMETER"},
            "cognito": {"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"},
        }
        for resource, names in expected.items():
            present = names <= set(env)
            assert present == (resource in fn.uses), (fn.name, resource)
        if "kafka" in fn.uses:
            assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert ("MYSQL_DATABASE" in env) == (fn.database is not None)


def test_kafka_credentials_are_secrets_only_when_a_kafka_mapping_needs_them(synth: Synth) -> None:
    for res in synth.resources("AWS::Lambda::Function").values():
        env = res["Properties"]["Environment"]["Variables"]
        if "KAFKA_BOOTSTRAP_SERVERS" not in env:
            continue
        if synth.system.kafka_sources:  # the mapping's SASL auth must be a Secrets Manager secret
            assert "KAFKA_SASL_SECRET_ARN" in env and "KAFKA_SASL_PARAMETER" not in env
        else:  # otherwise a free SSM parameter is enough
            assert env["KAFKA_SASL_PARAMETER"] == "/mybroker/kafka-scram"
            assert "KAFKA_SASL_SECRET_ARN" not in env


def test_least_privilege_secret_reads(synth: Synth) -> None:
    """A function reads only the secrets of the resources it declares."""
    policies = synth.resources("AWS::IAM::Policy")
    db_secret = next(
        lid for lid, r in synth.resources("AWS::SecretsManager::Secret").items() if "Mysql" in lid
    )
    for fn in synth.system.functions:
        lid = _function_id(synth, fn.name)
        role = synth.template["Resources"][lid]["Properties"]["Role"]["Fn::GetAtt"][0]
        text = json.dumps([p for p in policies.values() if {"Ref": role} in p["Properties"]["Roles"]])
        assert (db_secret in text or "SecretAttachment" in text) == ("mysql" in fn.uses), fn.name


def test_outputs(synth: Synth) -> None:
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId"} <= set(synth.template["Outputs"])
    template = Template.from_json(synth.template)
    template.has_resource_properties("AWS::Cognito::UserPoolGroup", {"GroupName": "admin"})
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "ExplicitAuthFlows": Match.array_with(
                ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
            )
        },
    )
    template.resource_count_is("AWS::Budgets::Budget", 1)
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(synth.system.functions) + len(synth.system.queues)
