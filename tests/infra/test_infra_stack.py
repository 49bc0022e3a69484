"""``aws_cdk.assertions`` on the synthesized stack: network, data, API, event sources, logs, environment."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template
from synth_helpers import Synth

from infra.compute import LAMBDA_PYTHON, function_name
from infra.data import MysqlUser
from infra.engine_host import ENGINE_CONTAINER_UID, REDIS_CONTAINER_UID
from infra.messaging import function_service, kafka_acls


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
    # the engine's and Redis' containers share the host's network: their users may not reach the metadata
    # service and the instance role's credentials (found in review)
    (host,) = synth.resources("AWS::EC2::Instance").values()
    user_data = json.dumps(host["Properties"]["UserData"])
    for uid in (ENGINE_CONTAINER_UID, REDIS_CONTAINER_UID):
        assert f"iptables -I OUTPUT -d 169.254.169.254 -m owner --uid-owner {uid} -j REJECT" in user_data


def test_authorizer_on_every_authorized_route(any_synth: Synth) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in any_synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    authorizers = {
        lid: a for lid, a in any_synth.resources("AWS::ApiGatewayV2::Authorizer").items()
        if a["Properties"]["ApiId"] == {"Ref": _http_api_id(any_synth)}
    }
    assert len(authorizers) == 1
    ((authorizer_id, authorizer),) = authorizers.items()
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    assert any(r.auth == "iam" for r in any_synth.system.routes)
    for route in any_synth.system.routes:
        props = routes[f"{route.method} {route.path}"]
        if route.auth == "jwt":
            assert props["AuthorizationType"] == "JWT"
            assert props["AuthorizerId"] == {"Ref": authorizer_id}
        elif route.auth == "iam":  # SigV4 only: no user token is accepted there
            assert props["AuthorizationType"] == "AWS_IAM"
            assert "AuthorizerId" not in props
        else:
            assert props.get("AuthorizationType", "NONE") == "NONE"


def _http_api_id(s: Synth) -> str:
    (lid,) = [k for k, v in s.resources("AWS::ApiGatewayV2::Api").items()
              if v["Properties"].get("ProtocolType") == "HTTP"]
    return str(lid)


def _role_policy_text(s: Synth, fn_name: str) -> str:
    """Every inline policy statement attached to a function's role, as JSON text."""
    role = s.template["Resources"][_function_id(s, fn_name)]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [p for p in s.resources("AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]]
    return json.dumps(policies)


def test_iam_routes_invocable_only_by_their_declared_callers(synth: Synth) -> None:
    internal = [r for r in synth.system.routes if r.auth == "iam"]
    for fn in synth.system.functions:
        text = _role_policy_text(synth, fn.name)
        for route in internal:
            suffix = f"/{route.method}{route.path.split('{')[0]}"
            assert (suffix in text) == (fn.name in route.iam_callers), (fn.name, route.method, route.path)


def test_a_function_with_iam_routes_knows_its_callers_roles(synth: Synth) -> None:
    # mybroker.http takes an IAM identity only from these roles: on AWS API Gateway's IAM check alone lets in
    # any principal whose own policy allows execute-api:Invoke
    for fn in synth.system.functions:
        env = synth.template["Resources"][_function_id(synth, fn.name)]["Properties"]["Environment"]["Variables"]
        callers = synth.system.iam_callers_of(fn.name)
        if not callers:
            assert "IAM_CALLER_ROLES" not in env, fn.name
            continue
        value = env["IAM_CALLER_ROLES"]
        refs = value["Fn::Join"][1] if "Fn::Join" in value else [value]  # CDK folds a one-item join into a Ref
        roles = [synth.template["Resources"][_function_id(synth, c)]["Properties"]["Role"]["Fn::GetAtt"][0]
                 for c in callers]
        assert refs == [{"Ref": r} for r in roles], fn.name


def _function_id(s: Synth, name: str) -> str:
    for lid, res in s.resources("AWS::Lambda::Function").items():
        if res["Properties"]["FunctionName"] == function_name(name):
            return str(lid)
    raise KeyError(name)


def test_rabbitmq_mappings_wired_to_their_queues(extended: Synth) -> None:
    """Each mapping authenticates as its own service's broker user, never as the broker's admin."""
    template = Template.from_json(extended.template)
    broker_id = next(iter(extended.resources("AWS::AmazonMQ::Broker")))
    broker = extended.resources("AWS::AmazonMQ::Broker")[broker_id]["Properties"]
    admin_secret = broker["Users"][0]["Password"]["Fn::Join"][1][1]  # the secret behind the admin password
    mappings = [m for m in extended.resources("AWS::Lambda::EventSourceMapping").values()
                if "Queues" in m["Properties"]]
    assert len(mappings) == len(extended.system.rabbitmq_sources)
    for source in extended.system.rabbitmq_sources:
        service = function_service(extended.system.function(source.function))
        template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": _function_id(extended, source.function)},
                "EventSourceArn": {"Fn::GetAtt": [broker_id, "Arn"]},
                "Queues": [source.queue],
                "BatchSize": source.batch_size,
                "SourceAccessConfigurations": Match.array_with(
                    [
                        {"Type": "BASIC_AUTH", "URI": {"Ref": _secret_id(extended, f"mybroker/rabbitmq-{service}")}},
                        {"Type": "VIRTUAL_HOST", "URI": extended.system.queue(source.queue).vhost},
                    ]
                ),
            },
        )
    assert all(json.dumps(admin_secret) not in json.dumps(m) for m in mappings)


def _secret_id(s: Synth, name: str) -> str:
    (lid,) = [k for k, v in s.resources("AWS::SecretsManager::Secret").items() if v["Properties"].get("Name") == name]
    return str(lid)


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
    by_name = {r["Properties"]["FunctionName"]: r["Properties"] for r in extended.system_functions().values()}
    for fn in extended.system.functions:
        props = by_name[function_name(fn.name)]
        assert props["Runtime"] == LAMBDA_PYTHON and props["Architectures"] == ["arm64"]
        assert len(props["Layers"]) == 2
        env = props["Environment"]["Variables"]
        assert env["MYBROKER_STAGE"] == "aws"
        assert env["POWERTOOLS_SERVICE_NAME"] == fn.name
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MyBrokerB3"
        expected = {
            "mysql": {"MYSQL_HOST", "MYSQL_PORT", "MYSQL_DATABASE", "MYSQL_CREDENTIALS_PARAMETER"},
            "redis": {"REDIS_URL", "REDIS_PASSWORD_PARAMETER", "REDIS_CA_PARAMETER"},
            "rabbitmq": {"RABBITMQ_HOST", "RABBITMQ_PORT"},
            "kafka": {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL"},
            "mongodb": {"MONGODB_URI_PARAMETER"},
            "cognito": {"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"},
        }
        for resource, names in expected.items():
            present = names <= set(env)
            assert present == (resource in fn.uses), (fn.name, resource)
        assert "MYSQL_SECRET_ARN" not in env  # the master secret is the host's alone
        if "mysql" in fn.uses:  # its own schema's user, or that schema's read-only user for another service
            suffix = "" if function_service(fn) == fn.database else "-readonly"
            assert env["MYSQL_CREDENTIALS_PARAMETER"] == f"/mybroker/mysql/{fn.database}{suffix}"
        if "redis" in fn.uses:
            assert "rediss://" in json.dumps(env["REDIS_URL"])  # TLS; the password comes from the parameter
        if "rabbitmq" in fn.uses:  # its service's own user: a secret (a mapping needs it) or a parameter
            assert ("RABBITMQ_SECRET_ARN" in env) != ("RABBITMQ_CREDENTIALS_PARAMETER" in env), fn.name
        if "kafka" in fn.uses:
            assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
            assert ("KAFKA_SASL_SECRET_ARN" in env) != ("KAFKA_SASL_PARAMETER" in env), fn.name
            assert ("KAFKA_CA_SECRET_ARN" in env) != ("KAFKA_CA_PARAMETER" in env), fn.name


def test_service_users_are_secrets_only_when_a_mapping_needs_them(any_synth: Synth) -> None:
    system = any_synth.system
    mq_mapped = {function_service(system.function(m.function)) for m in system.rabbitmq_sources}
    kafka_mapped = {function_service(system.function(k.function)) for k in system.kafka_sources}
    for fn in system.functions:
        env = _environment(any_synth, fn.name)
        service = function_service(fn)
        if "rabbitmq" in fn.uses:
            if service in mq_mapped:
                assert "RABBITMQ_SECRET_ARN" in env
            else:
                assert env["RABBITMQ_CREDENTIALS_PARAMETER"] == f"/mybroker/rabbitmq/{service}"
        if "kafka" in fn.uses:
            if service in kafka_mapped:
                assert "KAFKA_SASL_SECRET_ARN" in env
            else:
                assert env["KAFKA_SASL_PARAMETER"] == f"/mybroker/kafka/{service}"


def _environment(s: Synth, fn_name: str) -> dict[str, Any]:
    env: dict[str, Any] = s.template["Resources"][_function_id(s, fn_name)]["Properties"]["Environment"]["Variables"]
    return env


def _secret_refs(s: Synth) -> dict[str, str]:
    """Logical id of every secret -> its name."""
    return {k: v["Properties"].get("Name", k) for k, v in s.resources("AWS::SecretsManager::Secret").items()}


def test_least_privilege_credentials(any_synth: Synth) -> None:
    """A function's role reads only its own service's users: its schema's MySQL user, its service's broker
    users, and the parameters of what it declares. None reads the RDS master or the Amazon MQ admin secret."""
    system = any_synth.system
    secrets = _secret_refs(any_synth)
    admin = {lid for lid, name in secrets.items() if name in ("mybroker/mysql-master", "mybroker/rabbitmq")}
    assert len(admin) == 2
    service_secrets = {lid: name for lid, name in secrets.items() if name.startswith(("mybroker/rabbitmq-",
                                                                                       "mybroker/kafka-"))}
    for fn in system.functions:
        text = _role_policy_text(any_synth, fn.name)
        assert not any(lid in text for lid in admin), fn.name
        assert "SecretAttachment" not in text, fn.name  # the master secret, attached to the instance
        service = function_service(fn)
        polls = {"rabbitmq": any(m.function == fn.name for m in system.rabbitmq_sources),
                 "kafka": any(k.function == fn.name for k in system.kafka_sources)}
        for lid, name in service_secrets.items():
            if name == "mybroker/kafka-root-ca":  # public material
                continue
            broker, _, owner = name.removeprefix("mybroker/").partition("-")
            expected = owner == service.replace("_", "-") and (broker in fn.uses or polls[broker])
            assert (lid in text) == expected, (fn.name, name)
        for db in system.databases:
            for readonly in (False, True):
                reads = fn.database == db and readonly == (service != db)  # another service's schema: read-only
                name = MysqlUser(db, readonly).parameter
                assert (f"parameter{name}\"" in text) == reads, (fn.name, name)
        for kind in ("rabbitmq", "kafka"):
            for other in {function_service(f) for f in system.functions} - {service}:
                assert f"parameter/mybroker/{kind}/{other}\"" not in text, (fn.name, kind, other)
        assert ("parameter/mybroker/redis-password" in text) == ("redis" in fn.uses), fn.name


def test_only_the_redis_clients_reach_redis(any_synth: Synth) -> None:
    groups = any_synth.resources("AWS::EC2::SecurityGroup")
    (clients,) = [k for k, v in groups.items() if "use Redis" in v["Properties"]["GroupDescription"]]
    (host,) = [k for k, v in groups.items() if v["Properties"]["GroupDescription"].startswith("Engine host")]
    (functions_sg,) = [k for k, v in groups.items() if v["Properties"]["GroupDescription"].startswith("Lambda")]
    to_host = [r["Properties"] for r in any_synth.resources("AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [host, "GroupId"]}]
    to_host += groups[host]["Properties"].get("SecurityGroupIngress", [])
    assert to_host
    assert all("CidrIp" not in r for r in to_host)  # no VPC-wide (or wider) rule
    assert all(r["IpProtocol"] == "tcp" for r in to_host)  # no all-traffic rule
    redis = [r for r in to_host if r["FromPort"] <= 6379 <= r["ToPort"]]
    assert redis and all(r["SourceSecurityGroupId"] == {"Fn::GetAtt": [clients, "GroupId"]} for r in redis)
    from_functions = {r["FromPort"] for r in to_host
                      if r["SourceSecurityGroupId"] == {"Fn::GetAtt": [functions_sg, "GroupId"]}}
    assert from_functions == {443, 27017, 9096}  # NAT (HTTPS, MongoDB Atlas) and Kafka
    for fn in any_synth.system.functions:
        props = any_synth.template["Resources"][_function_id(any_synth, fn.name)]["Properties"]
        sgs = json.dumps(props.get("VpcConfig", {}).get("SecurityGroupIds", []))
        assert (clients in sgs) == ("redis" in fn.uses), fn.name


def _user_data(s: Synth) -> str:
    (instance,) = s.resources("AWS::EC2::Instance").values()
    parts = instance["Properties"]["UserData"]["Fn::Base64"]
    return json.dumps(parts) if not isinstance(parts, str) else parts


def test_host_creates_one_user_per_service(any_synth: Synth) -> None:
    text = _user_data(any_synth)
    system = any_synth.system
    for db in system.databases:
        assert f'mysql_user {db} {db} \\"ALL PRIVILEGES\\" \\"$(generated /mybroker/mysql/{db} {db})\\"' in text, db
    readers = {f.database for f in system.functions if f.database and function_service(f) != f.database}
    assert readers  # the streaming pusher reads the wallet's schema
    for db in readers:
        assert (f'mysql_user {db} {db}_ro \\"SELECT\\" \\"$(generated /mybroker/mysql/{db}-readonly {db}_ro)\\"'
                in text), db
    assert "GRANT $3 ON $1.* TO '$2'@'%'" in text  # on that one schema, nothing else
    assert "ON *.*" not in text
    mq_services = {function_service(f) for f in system.functions if "rabbitmq" in f.uses}
    mq_services |= {s.name for s in system.services if "rabbitmq" in s.uses}
    for service in mq_services:
        assert f"rabbit_user {service} " in text, service
    for service, acl in kafka_acls(system).items():
        assert f"kafka_user {service} " in text, service
        for topic in acl.produce:
            assert f"acl {service} --producer --topic {topic}" in text
        for topic, group in acl.consume:
            assert f"acl {service} --consumer --topic {topic} --group {group}" in text
    assert "super.users=User:ANONYMOUS" in text and "StandardAuthorizer" in text
    # Redis: TLS only, a password, and no dangerous commands
    assert "port 0" in text and "tls-port 6379" in text and "-@dangerous" in text
    assert "--protected-mode no" not in text
    assert "set -euxo" not in text  # no xtrace: the script handles passwords


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
    assert len(alarms) == len(synth.system.functions) + len(synth.system.queues) + 1  # + FloorRefused


def test_floor_refused_alarm_watches_what_the_wallet_emits(synth: Synth) -> None:
    from mybroker.wallet import floor_metric

    (alarm,) = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()
                if a["Properties"].get("MetricName") == floor_metric.METRIC]
    assert alarm["Namespace"] == floor_metric.DEFAULT_NAMESPACE == "MyBrokerB3"
    assert alarm["Dimensions"] == [{"Name": k, "Value": v} for k, v in floor_metric.DIMENSIONS.items()]
    assert (alarm["Period"], alarm["Statistic"], alarm["EvaluationPeriods"]) == (300, "Sum", 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)  # > 0 in 5 minutes
    assert alarm["TreatMissingData"] == "notBreaching"
    (topic,) = synth.resources("AWS::SNS::Topic")  # the alarms' one topic: no new one for this alarm
    assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_users_sign_up_with_their_email_as_username_as_in_the_local_pool(synth: Synth) -> None:
    """The web app's and the CLI's SignUp send the e-mail as the username: a pool with e-mail as an *alias* refuses
    an e-mail-shaped username, so the pool must use it as the username attribute (local_runtime/aws_bootstrap.py)."""
    (pool,) = synth.resources("AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["UsernameAttributes"] == ["email"] and "AliasAttributes" not in props
    assert props["AutoVerifiedAttributes"] == ["email"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False


def test_self_sign_up_can_be_turned_off() -> None:
    from aws_cdk import App, Stack

    from infra.auth import Auth

    stack = Stack(App(), "AuthOnly")
    Auth(stack, "Auth", self_sign_up=False)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Cognito::UserPool", {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}})
