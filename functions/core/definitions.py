"""Single source of truth for names and settings shared by the stack, the functions and local mode.

This module is imported by the CDK app (``pipeline/``), by the Lambda functions and by local mode
(``visitor_tracker``), so the table key schema, the queue settings and the environment variable
names cannot drift apart. It must stay free of boto3 and CDK imports: pure constants only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- Environment variable names (configuration reaches the functions only through these) ---
ENV_TABLE_NAME: Final = "TABLE_NAME"
ENV_QUEUE_URL: Final = "QUEUE_URL"
ENV_DLQ_URL: Final = "DLQ_URL"
ENV_LOG_TTL_DAYS: Final = "LOG_TTL_DAYS"
ENV_ALLOWED_ORIGINS: Final = "ALLOWED_ORIGINS"
ENV_IP_MODE: Final = "IP_MODE"
ENV_COUNT_BOTS: Final = "COUNT_BOTS"
# true: browser-looking visits from hosting/cloud networks (CloudFront-Viewer-ASN, front door only) count
ENV_COUNT_DATACENTERS: Final = "COUNT_DATACENTERS"
ENV_COUNTER_SHARDS: Final = "COUNTER_SHARDS"
ENV_STATUS_CACHE_SECONDS: Final = "STATUS_CACHE_SECONDS"
ENV_COUNT_CACHE_SECONDS: Final = "COUNT_CACHE_SECONDS"  # ingest reads the counter at most this often
ENV_AGGREGATE_SHARDS: Final = "AGGREGATE_SHARDS"  # writers spread the hot aggregate items over this many
ENV_EXCLUDE_IPS: Final = "EXCLUDE_IPS"  # comma-separated CIDRs whose visits are neither counted nor logged
ENV_EXCLUDE_PATHS: Final = "EXCLUDE_PATHS"  # comma-separated page patterns (fnmatch: /admin/*, /preview)
# Goals: comma-separated event names and page:<pattern> entries (functions.core.goals), at most 10
ENV_GOALS: Final = "GOALS"
# Several sites in one deployment: domains separated by commas or a JSON list (functions.core.sites)
ENV_SITES: Final = "SITES"
ENV_RESPECT_DNT: Final = "RESPECT_DNT"  # true: a request with DNT: 1 or Sec-GPC: 1 is neither counted nor logged
# Who may read: /status and /dashboard need an access token unless PUBLIC_DASHBOARD is true; /count and
# /badge.svg answer for the pages PUBLIC_COUNTERS allows ("all", "none" or comma-separated patterns).
ENV_PUBLIC_DASHBOARD: Final = "PUBLIC_DASHBOARD"
ENV_PUBLIC_COUNTERS: Final = "PUBLIC_COUNTERS"
# The secret the CloudFront front door adds to every origin request (a custom origin header): only a
# request carrying it is trusted to say who the viewer is (CloudFront-Viewer-Address).
ENV_FRONT_DOOR_SECRET: Final = "FRONT_DOOR_SECRET"  # noqa: S105 - a variable name
FRONT_DOOR_SECRET_HEADER: Final = "x-visitor-tracker-origin"  # noqa: S105 - a header name
VIEWER_ADDRESS_HEADER: Final = "cloudfront-viewer-address"
# The dashboard sends the access token in this header (API clients may use Authorization: Bearer):
# CloudFront cannot forward Authorization through an origin request policy, this one it can.
TOKEN_HEADER: Final = "x-visitor-tracker-token"  # noqa: S105 - a header name

DEFAULT_LOG_TTL_DAYS: Final = 30
DEFAULT_ALLOWED_ORIGINS: Final = "*"
DEFAULT_IP_MODE: Final = "full"
IP_MODES: Final = ("full", "truncated", "hashed", "none")
DEFAULT_COUNTER_SHARDS: Final = 1
DEFAULT_STATUS_CACHE_SECONDS: Final = 5
PUBLIC_COUNTERS_ALL: Final = "all"
PUBLIC_COUNTERS_NONE: Final = "none"
# Ingest's count cache: an execution environment reads the counter at most once per this many seconds
# and answers in between from its last answer + 1 per visit (never above the true count). 0: a read
# per visit (local mode and the tests' default); the stack sets 1.
DEFAULT_COUNT_CACHE_SECONDS: Final = 0
DEFAULT_AGGREGATE_SHARDS: Final = 1
# The daily salt item (hashed IPs, visitor hashes) is deleted by TTL this long after its day starts.
SALT_TTL_DAYS: Final = 2
# CORS preflights (OPTIONS) are answered by the API itself (the REST API's mock integration), not by
# a function: the methods and cache time it announces. Local mode answers preflights the same way.
# What the deployed REST API (a gateway response) and local mode answer for a path or method with
# no route: one body, defined once.
NOT_FOUND_BODY: Final = {"error": "not found"}
CORS_ALLOW_METHODS: Final = ("GET", "OPTIONS")
CORS_MAX_AGE_SECONDS: Final = 3600

# Message attribute carrying the API Gateway request id (ingest sets it), so the writer can log with
# the same correlation id without parsing the body first.
CORRELATION_ID_ATTRIBUTE: Final = "correlation_id"

# Powertools reads these itself.
POWERTOOLS_SERVICE_NAME: Final = "visitor-tracker"
METRICS_NAMESPACE: Final = "VisitorTracker"


@dataclass(frozen=True)
class TableDefinition:
    """The one DynamoDB table: single-table design, string partition and sort keys."""

    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = "expires_at"
    billing_mode: str = "PAY_PER_REQUEST"


@dataclass(frozen=True)
class QueueDefinition:
    """The visit queue, its dead-letter queue and the writer's event source mapping."""

    max_receive_count: int = 5
    # The writer's timeout, computed from its client settings by pipeline/budget.py (tests/infra checks
    # these agree); the queue's visibility timeout is six times it. Local mode uses them as they are.
    writer_timeout_seconds: int = 279
    visibility_timeout_seconds: int = 1674
    retention_days: int = 4
    dlq_retention_days: int = 14
    batch_size: int = 100
    max_batching_window_seconds: int = 1
    receive_wait_seconds: int = 20
    max_concurrency: int = 5


TABLE: Final = TableDefinition()
QUEUE: Final = QueueDefinition()

# Sizes kept in the visit record.
MAX_USER_AGENT_LENGTH: Final = 512
MAX_PATH_LENGTH: Final = 256
MAX_REFERRER_LENGTH: Final = 512
VISIT_SCHEMA_VERSION: Final = 1

# Stack output keys: what the CLI reads to find a deployed stack (and local mode writes).
OUTPUT_API_URL: Final = "ApiUrl"
OUTPUT_STATUS_URL: Final = "StatusUrl"
OUTPUT_TABLE_NAME: Final = "TableName"
OUTPUT_QUEUE_URL: Final = "QueueUrl"
OUTPUT_DLQ_URL: Final = "DlqUrl"
