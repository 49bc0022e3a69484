"""Cognito: the user pool the HTTP API's JWT authorizer trusts, its app client and the ``admin`` group."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.nag import acknowledge

ADMIN_GROUP = "admin"


class Auth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, self_sign_up: bool = True) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name="mybroker-b3",
            # the home broker's "Criar conta": SignUp, then the code Cognito e-mails (context selfSignUp=false:
            # accounts only from an admin, docs/deploy.md)
            self_sign_up_enabled=self_sign_up,
            user_verification=cognito.UserVerificationConfig(email_style=cognito.VerificationEmailStyle.CODE),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # the e-mail is the username, as in the local pool (local_runtime/aws_bootstrap.py): the web app and
            # the CLI sign up and log in with it
            sign_in_aliases=cognito.SignInAliases(email=True),
            feature_plan=cognito.FeaturePlan.ESSENTIALS,  # 10k MAU free
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.user_pool,
            {
                "AwsSolutions-COG2": "MFA is left to the demo operator: a simulator with fake money, and MFA "
                "makes the scripted CLI login in docs/deploy.md interactive.",
                "AwsSolutions-COG3": "Advanced security (threat protection) needs the paid Plus plan.",
                "AwsSolutions-COG8": "The Plus feature plan is billed per monthly active user; Essentials "
                "is free up to 10,000 MAU, and this simulator holds no real money.",
            },
        )
        self.client = self.user_pool.add_client(
            "AppClient",
            user_pool_client_name="mybroker-cli",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),  # refresh token is always on
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            prevent_user_existence_errors=True,
        )
        self.admin_group = cognito.CfnUserPoolGroup(
            self,
            "AdminGroup",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=ADMIN_GROUP,
            description="Operators: manage assets and accounts",
        )
