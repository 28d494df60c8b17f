"""Create the stage's tables, bucket and topic where they are missing (idempotent).

Used by the local stack (against an embedded or external moto server) and by the tests
(against moto in-process). Table shapes come from the pynamodb models; a test checks that
they agree with the tables declared in serverless.yml.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from pynamodb.models import Model

import shared.store
from shared.config import Config
from shared.store import base

# As serverless.yml's ContentCheckQueue (tests/deploy checks they agree).
CHECK_MAX_RECEIVES = 8
CHECK_VISIBILITY_SECONDS = 1080


def load_models() -> dict[str, type[Model]]:
    """Import every storage module so each model registers, and return them by logical name."""
    for module in pkgutil.iter_modules(shared.store.__path__):
        importlib.import_module(f"shared.store.{module.name}")
    return base.registered()


def client(cfg: Config, service: str) -> Any:
    # s3v4: against a custom endpoint boto3 would otherwise sign uploads the old way
    boto_config = BotoConfig(signature_version="s3v4") if service == "s3" else BotoConfig()
    factory: Any = boto3.client
    return factory(service, region_name=cfg.region, endpoint_url=cfg.endpoint_url, config=boto_config)


def _table_names(cfg: Config) -> list[str]:
    names: list[str] = []
    for page in client(cfg, "dynamodb").get_paginator("list_tables").paginate():
        names.extend(page["TableNames"])
    return names


@dataclass(frozen=True)
class Created:
    tables: list[str]
    bucket: str
    topic_arn: str
    check_queue_url: str = ""


def ensure(cfg: Config) -> Created:
    models = load_models()
    base.bind(cfg)
    made: list[str] = []
    existing_tables = set(_table_names(cfg))
    for model in models.values():
        if model.Meta.table_name not in existing_tables:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            # pynamodb also switches TTL on for a model with a TTLAttribute
            made.append(model.Meta.table_name)
    s3 = client(cfg, "s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if cfg.bucket not in existing:
        s3.create_bucket(Bucket=cfg.bucket)
    topic_arn = client(cfg, "sns").create_topic(Name=f"{cfg.table_prefix}reviewers")["TopicArn"]
    return Created(made, cfg.bucket, topic_arn, check_queue(cfg))


def check_queue(cfg: Config) -> str:
    """The paced content check's queue and its dead letters, as serverless.yml declares them
    (a message comes back MAX_RECEIVES times, then goes to `<queue>-dead`): the queue's URL."""
    import json

    sqs = client(cfg, "sqs")
    dead = sqs.create_queue(QueueName=f"{cfg.check_queue_name}-dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(CHECK_MAX_RECEIVES)})
    attributes = {"RedrivePolicy": redrive, "VisibilityTimeout": str(CHECK_VISIBILITY_SECONDS)}
    return str(sqs.create_queue(QueueName=cfg.check_queue_name, Attributes=attributes)["QueueUrl"])
