"""Dollars per million requests of an endpoint, from its metered calls and units.

AWS list prices in USD (us-east-1, on-demand), as README "What a million requests cost" states
them: DynamoDB 0.125 per million read units and 0.625 per million write units; HTTP API 1.00
per million; Lambda 0.20 per million plus 0.0000166667 per GB-second at the function's
memorySize (serverless.yml) for an assumed duration (100 ms; verification submit 2 s, as it
re-encodes up to five images: moto's in-process times say nothing of Lambda's); S3 PUT-class
requests 5.00 and GET-class 0.40 per million (DELETE is free); SNS 0.50 per million publishes.
"""

from __future__ import annotations

from dataclasses import dataclass

DYNAMODB_READ_UNIT = 0.125
DYNAMODB_WRITE_UNIT = 0.625
HTTP_API_REQUEST = 1.00
LAMBDA_REQUEST = 0.20
LAMBDA_GB_SECOND = 0.0000166667 * 1_000_000  # per million GB-seconds
S3_PUT_CLASS = 5.00
S3_GET_CLASS = 0.40
SNS_PUBLISH = 0.50

DEFAULT_DURATION_MS = 100
DURATION_MS = {"verificationSubmit": 2000}

DYNAMODB_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
S3_PUT_OPERATIONS = frozenset({"PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "PutObjectTagging"})
S3_GET_OPERATIONS = frozenset({"GetObject", "HeadObject", "GetObjectTagging"})
S3_FREE_OPERATIONS = frozenset({"DeleteObject", "DeleteObjects"})
SNS_OPERATIONS = frozenset({"Publish"})


@dataclass(frozen=True)
class Cost:
    dynamodb: float
    s3: float
    sns: float
    http_api: float
    lambda_: float
    duration_ms: int

    @property
    def total(self) -> float:
        return self.dynamodb + self.s3 + self.sns + self.http_api + self.lambda_


def per_million(
    calls: list[str],
    read_units: float,
    write_units: float,
    function: str,
    memory_mb: int,
    *,
    http: bool = True,
) -> Cost:
    """The cost of a million such requests; an AWS call this module cannot price is an error."""
    s3 = sns = 0.0
    for call in calls:
        if call in S3_PUT_OPERATIONS:
            s3 += S3_PUT_CLASS
        elif call in S3_GET_OPERATIONS:
            s3 += S3_GET_CLASS
        elif call in SNS_OPERATIONS:
            sns += SNS_PUBLISH
        elif call not in DYNAMODB_OPERATIONS | S3_FREE_OPERATIONS:
            raise ValueError(f"no price for the AWS call {call}")
    duration_ms = DURATION_MS.get(function, DEFAULT_DURATION_MS)
    gb_seconds = memory_mb / 1024 * duration_ms / 1000
    return Cost(
        dynamodb=read_units * DYNAMODB_READ_UNIT + write_units * DYNAMODB_WRITE_UNIT,
        s3=s3,
        sns=sns,
        http_api=HTTP_API_REQUEST if http else 0.0,
        lambda_=LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND,
        duration_ms=duration_ms,
    )
