"""The streaming API (``docs/streaming.md``): an API Gateway WebSocket API whose ``$connect`` runs the Lambda
REQUEST authorizer, its routes on the declared functions (``infra/declarations.py`` ``websocket_apis``), one
stage, and ``execute-api:ManageConnections`` on this API's connections for the declared managers only.
The functions and the pusher's Kafka mappings are created by ``Compute`` from the same declarations."""

from __future__ import annotations

import jsii
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.compute import LOG_RETENTION, construct_id
from infra.declarations import WebSocketApi
from infra.nag import acknowledge

ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",'
    '"eventType":"$context.eventType","routeKey":"$context.routeKey","status":"$context.status",'
    '"connectionId":"$context.connectionId","error":"$context.error.message",'
    '"authorizerError":"$context.authorizer.error","integrationError":"$context.integration.error"}'
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """WebSocket access logs as JSON (the HTTP API's Common Log Format names fields a WebSocket lacks)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination) -> None:
        self._destination = destination

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT)


class Streaming(Construct):
    def __init__(self, scope: Construct, construct_id_: str, *, api: WebSocketApi,
                 functions: dict[str, lambda_.Function]) -> None:
        super().__init__(scope, construct_id_)
        self.declaration = api
        authorizer = authorizers.WebSocketLambdaAuthorizer(
            "TokenAuthorizer",
            functions[api.authorizer],
            # the token comes in ?token= or Sec-WebSocket-Protocol: either may be absent, so no identity source
            # is required up front (the authorizer itself refuses a handshake without one); no caching
            identity_source=[],
        )
        integration_of: dict[str, integrations.WebSocketLambdaIntegration] = {}

        def integration(function: str) -> integrations.WebSocketLambdaIntegration:
            if function not in integration_of:
                integration_of[function] = integrations.WebSocketLambdaIntegration(
                    f"{construct_id(function)}WsIntegration", functions[function]
                )
            return integration_of[function]

        routes = {r.route_key: r for r in api.routes}

        def options(key: str) -> apigwv2.WebSocketRouteOptions | None:
            route = routes.get(key)
            if route is None:
                return None
            return apigwv2.WebSocketRouteOptions(
                integration=integration(route.function),
                authorizer=authorizer if key == "$connect" else None,
                return_response=route.returns_response or None,
            )

        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"mybroker-b3-{api.name}",
            route_selection_expression=api.route_selection,
            connect_route_options=options("$connect"),
            disconnect_route_options=options("$disconnect"),
            default_route_options=options("$default"),
        )
        for route in api.routes:
            if not route.route_key.startswith("$"):
                self.api.add_route(route.route_key, integration=integration(route.function),
                                   return_response=route.returns_response or None)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/mybroker/websocket-api/{api.name}/access",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # unlike an HTTP API, a WebSocket stage logs through the account's API Gateway CloudWatch role
        logs_role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=logs_role.role_arn)
        acknowledge(
            logs_role,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]": "The AWS-maintained minimum for API Gateway to write "
                "the WebSocket stage's access logs.",
            },
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=api.stage,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=50, burst_limit=100),  # caps a runaway bill
            access_log_settings=_AccessLogs(apigwv2.LogGroupLogDestination(access_logs)),
        )
        self.stage.node.add_dependency(account)
        stack = Stack.of(self)
        api_id = stack.resolve(stack.get_logical_id(self.api.node.default_child))  # type: ignore[arg-type]
        for manager in api.managers:
            handle = functions[manager]
            self.stage.grant_management_api_access(handle)
            handle.add_environment("WEBSOCKET_CALLBACK_URL", self.stage.callback_url)
            acknowledge(
                handle,
                {
                    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                    f"<{api_id}>/{api.stage}/*/@connections/*]": "ManageConnections on this API's stage only: "
                    "the connection ids are created at run time.",
                },
            )
        for route_key in routes:
            if route_key != "$connect":
                acknowledge(
                    self.api,
                    {
                        "AwsSolutions-APIG4": "A WebSocket API authorizes once, at $connect (the Cognito token, "
                        "by the Lambda REQUEST authorizer); later frames ride on that connection.",
                    },
                )
