"""Talk to S3 and SageMaker with boto3: read what is deployed, upload code, upsert.

boto3 honours ``AWS_ENDPOINT_URL``, so the same code deploys to a moto server in tests.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smdsl.compile.builder import CompiledPipeline
from smdsl.compile.bundles import CodeObject
from smdsl.declare.env import RESERVED_TAG_PREFIXES
from smdsl.deploy.diff import definition_changes
from smdsl.errors import DeployError

T = TypeVar("T")
R = TypeVar("R")

INLINE_LIMIT = 1_048_576
"""Longest definition SageMaker takes inline; longer ones go through S3."""


@dataclass(frozen=True)
class DeployedPipeline:
    """What SageMaker holds for a pipeline name, if anything."""

    arn: str
    definition: dict[str, Any]
    role_arn: str | None
    description: str | None
    tags: dict[str, str]


@dataclass
class Plan:
    """Everything a deploy would do, and nothing it would not."""

    pipeline: CompiledPipeline
    deployed: DeployedPipeline | None
    uploads: list[CodeObject]
    changes: list[str] = field(default_factory=list)
    tags_to_add: dict[str, str] = field(default_factory=dict)
    tags_to_remove: list[str] = field(default_factory=list)
    offline: bool = False  # planned without reading AWS: deployed and uploads are assumed

    @property
    def action(self) -> str:
        """``create``, ``update`` (definition, role or description), ``tag`` or ``none``."""
        if self.deployed is None:
            return "create"
        if self.changes:
            return "update"
        if self.tags_to_add or self.tags_to_remove:
            return "tag"
        return "none"

    @property
    def has_writes(self) -> bool:
        return self.action != "none" or bool(self.uploads)


@dataclass(frozen=True)
class Patience:
    """How long to wait for AWS: retries after the first try, and timeouts in seconds."""

    retries: int = 3
    connect_timeout: float = 10
    read_timeout: float = 60


DRY_RUN_PATIENCE = Patience(retries=1, connect_timeout=3, read_timeout=10)
"""A dry run only reads, so it gives up sooner than a deploy."""


class AwsClients:
    """The two boto3 clients a deploy uses, with AWS errors turned into :class:`DeployError`."""

    def __init__(self, region: str, patience: Patience | None = None) -> None:
        import boto3
        from botocore.config import Config

        patience = patience or Patience()
        config = Config(
            retries={"max_attempts": patience.retries, "mode": "standard"},
            connect_timeout=patience.connect_timeout,
            read_timeout=patience.read_timeout,
        )
        session = boto3.Session(region_name=region)
        self.sagemaker = session.client("sagemaker", config=config)
        self.s3 = session.client("s3", config=config)

    def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        """``client.<operation>(**kwargs)``, with any failure as one :class:`DeployError`."""
        try:
            return getattr(client, _snake(operation))(**kwargs)
        except Exception as exc:
            raise aws_failure(operation, exc) from None


def aws_failure(operation: str, exc: Exception) -> Exception:
    """A boto3 failure of ``operation`` as a one-line :class:`DeployError`; other errors as is."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or f"HTTP {status}"
        message = error.get("Message") or str(exc)
        server = f" (HTTP {status}, a fault on the AWS side)" if (status or 0) >= 500 else ""
        return DeployError(f"AWS refused {operation}: {code}: {message}{server}")
    if isinstance(exc, NoCredentialsError):
        return DeployError(
            f"{operation} failed: no AWS credentials found (set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; to see a plan without AWS, use "
            "--dry-run --offline)"
        )
    if isinstance(exc, EndpointConnectionError):
        endpoint = exc.kwargs.get("endpoint_url")
        return DeployError(f"{operation} failed: could not connect to {endpoint}")
    if isinstance(exc, BotoCoreError):
        return DeployError(f"{operation} failed: {exc}")
    return exc


def read_deployed(aws: AwsClients, name: str) -> DeployedPipeline | None:
    """The pipeline ``name`` as deployed, or None when there is none.

    Only "no such pipeline" means None; any other failure to read is a :class:`DeployError`, so
    that a plan never shows a create for a pipeline that could not be read.
    """
    from botocore.exceptions import ClientError

    try:
        described = aws.sagemaker.describe_pipeline(PipelineName=name)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFound" or "Could not find pipeline" in str(
            error.get("Message", "")
        ):
            return None
        raise aws_failure("DescribePipeline", exc) from None
    except Exception as exc:
        raise aws_failure("DescribePipeline", exc) from None
    arn = described["PipelineArn"]
    tags = aws.call(aws.sagemaker, "ListTags", ResourceArn=arn).get("Tags", [])
    return DeployedPipeline(
        arn=arn,
        definition=_parse_definition(described.get("PipelineDefinition") or "{}"),
        role_arn=described.get("RoleArn"),
        description=described.get("PipelineDescription") or None,
        tags={t["Key"]: t["Value"] for t in tags},
    )


def missing_code(aws: AwsClients, bucket: str, objects: tuple[CodeObject, ...]) -> list[CodeObject]:
    """The code objects not yet in ``bucket``, after checking that the bucket exists."""
    from botocore.exceptions import ClientError

    try:
        aws.s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        reason = "does not exist" if status == 404 else "is not accessible"
        raise DeployError(f"S3 bucket {bucket!r} {reason} (HTTP {status})") from None
    except Exception as exc:
        raise aws_failure(f"HeadBucket {bucket}", exc) from None

    def is_missing(obj: CodeObject) -> bool:
        try:
            aws.s3.head_object(Bucket=bucket, Key=obj.key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status != 404:
                raise DeployError(f"cannot check s3://{bucket}/{obj.key}: HTTP {status}") from None
            return True
        except Exception as exc:
            raise aws_failure(f"HeadObject s3://{bucket}/{obj.key}", exc) from None
        return False

    found = in_parallel(is_missing, objects)
    return [obj for obj, missing in zip(objects, found, strict=True) if missing]


PARALLEL = 16
"""How many S3 requests a deploy has in flight at once (boto3 clients are thread-safe)."""


def in_parallel(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, up to :data:`PARALLEL` at a time; the first
    error (in the order of ``items``) is raised once all have finished."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(items))) as pool:
        futures = [pool.submit(function, item) for item in items]
    return [future.result() for future in futures]


def make_plan(
    pipeline: CompiledPipeline,
    deployed: DeployedPipeline | None,
    uploads: list[CodeObject],
    offline: bool = False,
) -> Plan:
    """Compare the compiled pipeline with what is deployed."""
    plan = Plan(pipeline, deployed, uploads, offline=offline)
    new_definition = json.loads(pipeline.definition)
    if deployed is None:
        plan.tags_to_add = dict(pipeline.tags)
        return plan
    plan.changes = definition_changes(deployed.definition, new_definition)
    if deployed.role_arn != pipeline.role_arn:
        plan.changes.append(f"~ role: {deployed.role_arn} -> {pipeline.role_arn}")
    if (deployed.description or None) != (pipeline.description or None):
        plan.changes.append("~ description")
    plan.tags_to_add = {k: v for k, v in pipeline.tags.items() if deployed.tags.get(k) != v}
    plan.tags_to_remove = sorted(
        k
        for k in deployed.tags
        if k not in pipeline.tags and not k.lower().startswith(RESERVED_TAG_PREFIXES)
    )
    return plan


def apply_plan(aws: AwsClients, plan: Plan) -> None:
    """Upload missing code, then create or update the pipeline and its tags."""
    pipeline = plan.pipeline
    in_parallel(
        lambda obj: aws.call(
            aws.s3, "PutObject", Bucket=pipeline.bucket, Key=obj.key, Body=obj.body
        ),
        plan.uploads,
    )
    if plan.deployed is None or plan.changes:
        common: dict[str, Any] = {
            "PipelineName": pipeline.name,
            "RoleArn": pipeline.role_arn,
            **_definition_argument(aws, pipeline),
        }
        if pipeline.description:
            common["PipelineDescription"] = pipeline.description
    if plan.deployed is None:
        tags = [{"Key": k, "Value": v} for k, v in pipeline.tags.items()]
        aws.call(aws.sagemaker, "CreatePipeline", **common, **({"Tags": tags} if tags else {}))
        return
    if plan.changes:
        aws.call(aws.sagemaker, "UpdatePipeline", **common)
    try:
        _retag(aws, plan, plan.deployed.arn)
    except DeployError as exc:
        if not plan.changes:
            raise
        raise DeployError(
            f"pipeline {pipeline.name} was updated (its new definition is deployed), but "
            f"only its tags failed: {exc}; rerun the deploy to retry the tags"
        ) from None


def _retag(aws: AwsClients, plan: Plan, arn: str) -> None:
    if plan.tags_to_add:
        tags = [{"Key": k, "Value": v} for k, v in plan.tags_to_add.items()]
        aws.call(aws.sagemaker, "AddTags", ResourceArn=arn, Tags=tags)
    if plan.tags_to_remove:
        aws.call(aws.sagemaker, "DeleteTags", ResourceArn=arn, TagKeys=plan.tags_to_remove)


def _definition_argument(aws: AwsClients, pipeline: CompiledPipeline) -> dict[str, Any]:
    if len(pipeline.definition) <= INLINE_LIMIT:
        return {"PipelineDefinition": pipeline.definition}
    import hashlib

    digest = hashlib.sha256(pipeline.definition.encode()).hexdigest()
    folder = "/".join(p for p in (pipeline.prefix, "definitions", pipeline.name) if p)
    key = f"{folder}/{digest}.json"
    aws.call(
        aws.s3, "PutObject", Bucket=pipeline.bucket, Key=key, Body=pipeline.definition.encode()
    )
    return {"PipelineDefinitionS3Location": {"Bucket": pipeline.bucket, "ObjectKey": key}}


def _parse_definition(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        # moto returns a definition stored through S3 as a Python repr, not JSON.
        parsed = ast.literal_eval(text)
    return parsed if isinstance(parsed, dict) else {}


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
