"""Talk to S3 and SageMaker with boto3: read what is deployed, upload code, upsert.

boto3 honours ``AWS_ENDPOINT_URL``, so the same code deploys to a moto server in tests.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from smdsl.compile.builder import CompiledPipeline
from smdsl.compile.bundles import CodeObject
from smdsl.deploy.diff import definition_changes
from smdsl.errors import DeployError

INLINE_LIMIT = 1_048_576
"""Longest definition SageMaker takes inline; longer ones go through S3."""

PROTECTED_TAG_PREFIXES = ("aws:", "sagemaker:")


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
    state_unknown: str | None = None  # why the deployed state could not be read

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


class AwsClients:
    """The two boto3 clients a deploy uses, with AWS errors turned into :class:`DeployError`."""

    def __init__(self, region: str, retries: int = 3, connect_timeout: float = 10) -> None:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": retries, "mode": "standard"},
            connect_timeout=connect_timeout,
        )
        session = boto3.Session(region_name=region)
        self.sagemaker = session.client("sagemaker", config=config)
        self.s3 = session.client("s3", config=config)

    def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(client, _snake(operation))(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Error")
            message = error.get("Message") or str(exc)
            raise DeployError(f"AWS refused {operation}: {code}: {message}") from None
        except BotoCoreError as exc:
            raise DeployError(f"{operation} failed: {exc}") from None


def read_deployed(aws: AwsClients, name: str) -> DeployedPipeline | None:
    """The pipeline ``name`` as deployed, or None when there is none."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = aws.sagemaker.describe_pipeline(PipelineName=name)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFound" or "Could not find pipeline" in str(
            error.get("Message", "")
        ):
            return None
        raise DeployError(
            f"AWS refused DescribePipeline: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise DeployError(f"DescribePipeline failed: {exc}") from None
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
    missing = []
    for obj in objects:
        try:
            aws.s3.head_object(Bucket=bucket, Key=obj.key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status != 404:
                raise DeployError(f"cannot check s3://{bucket}/{obj.key}: HTTP {status}") from None
            missing.append(obj)
    return missing


def make_plan(
    pipeline: CompiledPipeline, deployed: DeployedPipeline | None, uploads: list[CodeObject]
) -> Plan:
    """Compare the compiled pipeline with what is deployed."""
    plan = Plan(pipeline, deployed, uploads)
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
        if k not in pipeline.tags and not k.startswith(PROTECTED_TAG_PREFIXES)
    )
    return plan


def apply_plan(aws: AwsClients, plan: Plan) -> None:
    """Upload missing code, then create or update the pipeline and its tags."""
    pipeline = plan.pipeline
    for obj in plan.uploads:
        aws.call(aws.s3, "PutObject", Bucket=pipeline.bucket, Key=obj.key, Body=obj.body)
    definition = _definition_argument(aws, pipeline)
    common: dict[str, Any] = {
        "PipelineName": pipeline.name,
        "RoleArn": pipeline.role_arn,
        **definition,
    }
    if pipeline.description:
        common["PipelineDescription"] = pipeline.description[:3072]
    if plan.deployed is None:
        tags = [{"Key": k, "Value": v} for k, v in pipeline.tags.items()]
        aws.call(aws.sagemaker, "CreatePipeline", **common, **({"Tags": tags} if tags else {}))
        return
    if plan.changes:
        aws.call(aws.sagemaker, "UpdatePipeline", **common)
    if plan.tags_to_add:
        tags = [{"Key": k, "Value": v} for k, v in plan.tags_to_add.items()]
        aws.call(aws.sagemaker, "AddTags", ResourceArn=plan.deployed.arn, Tags=tags)
    if plan.tags_to_remove:
        aws.call(
            aws.sagemaker, "DeleteTags", ResourceArn=plan.deployed.arn, TagKeys=plan.tags_to_remove
        )


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
