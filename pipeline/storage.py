"""The single DynamoDB table: counters, visit log items (with TTL) and aggregates."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from functions.core.definitions import TABLE


class Storage(Construct):
    """On-demand table keyed as definitions.TABLE says, with TTL, PITR and encryption at rest.

    Encryption uses the AWS managed key (aws/dynamodb): it is auditable in CloudTrail, costs nothing
    per month and needs no kms:* grants on the functions. A customer managed key would add $1/month,
    per-request KMS charges and key-policy upkeep for data that is page-view counts.
    """

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=TABLE.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=TABLE.sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode(TABLE.billing_mode),
            time_to_live_attribute=TABLE.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
