"""The lake (issue 22): the owner's bucket of raw events, its Glue table, the Athena workgroup that queries it.

- **Bucket**: S3-managed encryption, TLS only, no public access, no server access logs (acknowledged,
  with the reason, below), expiry after ``lake_retention_days`` (apart from the DynamoDB TTL). Versioning is off:
  objects are written once, named after their visits, and a rewrite is the same rows again; the
  retention rule is the one deletion. Kept on ``cdk destroy`` unless ``removal_policy=destroy`` (then
  CloudFormation deletes it only once emptied).
- **Glue table** ``events_raw`` over ``events/site=<site>/day=<day>/``, gzip JSON lines read by the
  OpenX JSON SerDe, with partition projection (``site`` injected: every query names its site; ``day``
  a date range), so no crawler and no partition upkeep.
- **Workgroup**: its own configuration enforced (result location and encryption, a per-query
  bytes-scanned cutoff), results in a bucket that forgets them after ``RESULTS_DAYS``.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from functions.lake.config import RAW_TABLE
from functions.model.lakerow import COLUMNS, EVENTS_PREFIX, PARTITIONS, ROLLUPS_PREFIX
from pipeline.nag import acknowledge

RESULTS_DAYS = 7
BYTES_SCANNED_CUTOFF = 1024**3  # 1 GB a query: far above a dashboard query's (bench/11_lake.py), a cap on mistakes
PROJECTION_START = "2025-01-01"
WRITER_ACTIONS = ("s3:PutObject",)
ATHENA_ACTIONS = ("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                  "athena:StopQueryExecution")  # fmt: skip
GLUE_ACTIONS = ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions")
RESULTS_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
RESULTS_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")


def _bucket(scope: Construct, construct_id: str, *, retain: bool, expire_days: int) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(expire_days), abort_incomplete_multipart_upload_after=Duration.days(1)
            )
        ],
        removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
    )


class Lake(Construct):
    """The bucket, the Glue database and table, the Athena workgroup and its results bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int, retain: bool, name: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.bucket = _bucket(self, "Bucket", retain=retain, expire_days=retention_days)
        self.results = _bucket(self, "Results", retain=False, expire_days=RESULTS_DAYS)
        for bucket in (self.bucket, self.results):
            acknowledge(
                bucket,
                "AwsSolutions-S1",
                "No server access logs: only the tracker's own roles can reach these buckets (no public access, TLS "
                "only), every query is in Athena's history and CloudTrail; a log object per request would cost more "
                "requests than the lake's own writes. Enable CloudTrail S3 data events to audit object reads.",
            )
        self.database_name = name.lower().replace("-", "_") + "_lake"
        database = glue.CfnDatabase(
            self, "Database", catalog_id=stack.account, database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="Visitor tracker lake (docs/lake.md)")
        )  # fmt: skip
        location = f"s3://{self.bucket.bucket_name}/{EVENTS_PREFIX}/"
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=stack.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=RAW_TABLE,
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, _, t in PARTITIONS],
                parameters={
                    "classification": "json",
                    "compressionType": "gzip",
                    "projection.enabled": "true",
                    "projection.site.type": "injected",
                    "projection.day.type": "date",
                    "projection.day.format": "yyyy-MM-dd",
                    "projection.day.range": f"{PROJECTION_START},NOW",
                    "projection.day.interval": "1",
                    "projection.day.interval.unit": "DAYS",
                    "storage.location.template": location + "site=${site}/day=${day}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, _, t in COLUMNS],
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"
                    ),
                ),
            ),
        )
        self.table.node.add_dependency(database)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=Fn.join("-", [Aws.STACK_NAME, "lake"]),  # unique per stack and region, like the stack's name
            description="Visitor tracker: the dashboard's and the CLI's queries over the lake",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results.bucket_name}/athena/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        self.workgroup_arn = stack.format_arn(service="athena", resource="workgroup", resource_name=self.workgroup.ref)

    def _acknowledge_prefix(self, role: iam.IRole, bucket: s3.Bucket, prefix: str) -> None:
        stack = Stack.of(self)
        logical_id = stack.resolve(stack.get_logical_id(bucket.node.default_child))  # type: ignore[arg-type]
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{prefix}/*]",
            f"Objects under one prefix of the tracker's own bucket ({prefix}/): the keys are made per batch and day.",
        )

    def grant_writer(self, function: lambda_.Function) -> None:
        """PutObject on events/*; DeleteObject on rollups/* (late rows drop their day's stored panels)."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(WRITER_ACTIONS), resources=[self.bucket.arn_for_objects(f"{EVENTS_PREFIX}/*")]
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:DeleteObject"], resources=[self.bucket.arn_for_objects(f"{ROLLUPS_PREFIX}/*")]
            )
        )
        assert function.role is not None
        self._acknowledge_prefix(function.role, self.bucket, EVENTS_PREFIX)
        self._acknowledge_prefix(function.role, self.bucket, ROLLUPS_PREFIX)

    def grant_reader(self, function: lambda_.Function) -> None:
        """Athena in this workgroup, the Glue table's metadata, the events (read), the rollups (read and
        write) and the workgroup's results."""
        stack = Stack.of(self)
        glue_arns = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            stack.format_arn(service="glue", resource="table", resource_name=f"{self.database_name}/{RAW_TABLE}"),
        ]
        statements = [
            iam.PolicyStatement(actions=list(ATHENA_ACTIONS), resources=[self.workgroup_arn]),
            iam.PolicyStatement(actions=list(GLUE_ACTIONS), resources=glue_arns),
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{EVENTS_PREFIX}/*")]
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{ROLLUPS_PREFIX}/*")]
            ),
            iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[self.bucket.bucket_arn]),
            iam.PolicyStatement(actions=list(RESULTS_ACTIONS), resources=[self.results.arn_for_objects("athena/*")]),
            iam.PolicyStatement(actions=list(RESULTS_BUCKET_ACTIONS), resources=[self.results.bucket_arn]),
        ]
        for statement in statements:
            function.add_to_role_policy(statement)
        assert function.role is not None
        for bucket, prefix in ((self.bucket, EVENTS_PREFIX), (self.bucket, ROLLUPS_PREFIX), (self.results, "athena")):
            self._acknowledge_prefix(function.role, bucket, prefix)
