"""The web app on AWS (docs/web.md): a private S3 bucket behind CloudFront with Origin Access Control, the built
app (web/dist) deployed into it with a ``config.json`` generated at deploy time (the HTTP API, WebSocket and
Cognito endpoints, tokens CloudFormation resolves), and the HTTP API's CORS opened to the distribution only."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.nag import acknowledge

NOT_BUILT = ("<!doctype html><meta charset=utf-8><title>My Broker B3</title><p>The web app was not built before "
             "this deployment: run <code>npm ci && npm run build</code> in <code>web/</code>, then deploy again.</p>")
CORS_HEADERS = ["authorization", "content-type", "idempotency-key"]
DEPLOY_GRANTS = ("CDK's BucketDeployment grants (grantReadWrite on the web bucket): it copies the built app in and "
                 "prunes old files, on this bucket's objects only.")


class Web(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, dist_dir: Path, api: apigwv2.HttpApi, api_url: str,
                 websocket_url: str, client_id: str) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.bucket = s3.Bucket(
            self, "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,  # emptied by the deployment's retain_on_delete=False
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self, "SecurityHeaders",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.SAME_ORIGIN, override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment="My Broker B3 web app",
            default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,  # the cheapest edges; the users are in Brazil anyway
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
            ),
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"
        acknowledge(self.bucket, {
            "AwsSolutions-S1": "The bucket holds only the public web app's built files, read through CloudFront; "
            "server access logs would cost more than the app's whole traffic and log nothing private.",
        })
        acknowledge(self.distribution, {
            "AwsSolutions-CFR1": "A simulator open to anyone with an account; no country is to be kept out.",
            "AwsSolutions-CFR2": "AWS WAF costs a fixed monthly fee per web ACL, over the Free Tier budget; the "
            "distribution serves only static files, and the APIs throttle on their own stages.",
            "AwsSolutions-CFR3": "Standard logs need a log bucket with ACLs; static files of a demo app carry "
            "nothing to audit, and the APIs keep their own access logs.",
            "AwsSolutions-CFR4": "The default *.cloudfront.net certificate: CloudFront then allows TLSv1 for old "
            "clients whatever the minimum set here; a custom domain with its ACM certificate lifts it.",
        })

        # the API answers the app from the distribution's origin (bearer tokens, no cookies)
        cfn_api = api.node.default_child
        assert isinstance(cfn_api, apigwv2.CfnApi)
        cfn_api.cors_configuration = apigwv2.CfnApi.CorsProperty(
            allow_origins=[self.url], allow_headers=CORS_HEADERS,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"], max_age=600)

        config = {
            "apiUrl": api_url.rstrip("/"),
            "wsUrl": websocket_url,
            "cognitoUrl": f"https://cognito-idp.{region}.amazonaws.com/",
            "clientId": client_id,
            "region": region,
        }
        built = (dist_dir / "index.html").is_file()
        app = s3deploy.Source.asset(str(dist_dir)) if built else s3deploy.Source.data("index.html", NOT_BUILT)
        self.deployment = s3deploy.BucketDeployment(
            self, "Deploy",
            destination_bucket=self.bucket,
            sources=[app, s3deploy.Source.json_data("config.json", config)],
            distribution=self.distribution,  # invalidates the cached index.html and config.json
            distribution_paths=["/index.html", "/config.json"],
            prune=True,
            retain_on_delete=False,  # deleting the stack deletes the files, so the bucket can go too
            memory_limit=256,
            log_group=logs.LogGroup(self, "DeployLogs", retention=logs.RetentionDays.ONE_MONTH,
                                    removal_policy=RemovalPolicy.DESTROY),
        )
        # the deployment's handler is CDK's own singleton function at the stack's root
        stack = Stack.of(self)
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(child, {
                    "AwsSolutions-L1": "CDK's BucketDeployment handler: its runtime is chosen and upgraded by "
                    "aws-cdk-lib (it runs only at deploy time to copy the web app's files).",
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": "CDK's BucketDeployment handler writes its own logs; the "
                    "managed policy is exactly that.",
                    "AwsSolutions-IAM5[Action::s3:Abort*]": DEPLOY_GRANTS,
                    "AwsSolutions-IAM5[Action::s3:DeleteObject*]": DEPLOY_GRANTS,
                    "AwsSolutions-IAM5[Action::s3:GetBucket*]": DEPLOY_GRANTS,
                    "AwsSolutions-IAM5[Action::s3:GetObject*]": DEPLOY_GRANTS,
                    "AwsSolutions-IAM5[Action::s3:List*]": DEPLOY_GRANTS,
                    f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(cfn_bucket)}.Arn>/*]":
                        DEPLOY_GRANTS,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
                    "<AWS::Region>/*]": "It reads the app's zipped files from the CDK bootstrap assets bucket.",
                    "AwsSolutions-IAM5[Resource::*]": "CloudFront invalidations take no resource narrower than "
                    "'*' (cloudfront:CreateInvalidation/GetInvalidation, added by BucketDeployment).",
                })
