"""Talk to S3 and SageMaker with boto3: read what is deployed, upload code, upsert.

boto3 honours ``AWS_ENDPOINT_URL``, so the same code deploys to a moto server in tests.

Every client has short timeouts and a bounded number of attempts (:class:`Patience`, which
``SMDSL_CONNECT_TIMEOUT``, ``SMDSL_READ_TIMEOUT`` and ``SMDSL_MAX_ATTEMPTS`` override), and a
call that keeps the user waiting is named on standard error (:mod:`smdsl.deploy.watch`).

A deploy never overwrites a change it has not seen: the plan keeps the pipeline as it was read
(its definition text, LastModifiedTime, role and description), and :func:`apply_plan` reads it
again just before writing and stops, writing nothing to the pipeline, if it differs
(:class:`ChangedSinceRead`).
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smdsl.compile.builder import CompiledPipeline
from smdsl.compile.bundles import CodeObject
from smdsl.declare.env import RESERVED_TAG_PREFIXES
from smdsl.deploy.diff import DefinitionDiff, FieldChange, compare_definitions
from smdsl.errors import DeployError, UsageError

T = TypeVar("T")
R = TypeVar("R")

INLINE_LIMIT = 1_048_576
"""Longest definition SageMaker takes inline; longer ones go through S3."""

CONNECT_TIMEOUT_VARIABLE = "SMDSL_CONNECT_TIMEOUT"
READ_TIMEOUT_VARIABLE = "SMDSL_READ_TIMEOUT"
MAX_ATTEMPTS_VARIABLE = "SMDSL_MAX_ATTEMPTS"
PATIENCE_VARIABLES = (CONNECT_TIMEOUT_VARIABLE, READ_TIMEOUT_VARIABLE, MAX_ATTEMPTS_VARIABLE)
"""The environment variables that set how long smdsl waits for AWS (seconds, and attempts)."""


class ChangedSinceRead(DeployError):
    """The pipeline changed between the plan's read and the write: nothing was written to it."""


@dataclass(frozen=True)
class DeployedPipeline:
    """What SageMaker holds for a pipeline name, if anything."""

    arn: str
    definition: dict[str, Any]
    role_arn: str | None
    description: str | None
    tags: dict[str, str]
    definition_text: str = ""  # as DescribePipeline gave it, to notice any later change
    last_modified: Any = None  # DescribePipeline's LastModifiedTime


@dataclass(frozen=True)
class Patience:
    """How long to wait for AWS: retries after the first try, and timeouts in seconds."""

    retries: int = 3
    connect_timeout: float = 5
    read_timeout: float = 30

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def describe(self) -> str:
        """``up to 30 s per attempt, 4 attempts``: what a slow call is waiting within."""
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        return f"up to {_seconds(self.read_timeout)} s per attempt, {tries}"


DEPLOY_PATIENCE = Patience()
"""A deploy: 5 s to connect, 30 s for an answer, 4 attempts (standard retry mode)."""

DRY_RUN_PATIENCE = Patience(retries=1, connect_timeout=3, read_timeout=10)
"""A dry run (and ``diff``, ``status``) only reads, so it gives up sooner than a deploy."""


def configured(base: Patience, environ: Mapping[str, str] | None = None) -> Patience:
    """``base`` with what ``SMDSL_CONNECT_TIMEOUT``, ``SMDSL_READ_TIMEOUT`` (seconds) and
    ``SMDSL_MAX_ATTEMPTS`` (tries in all, the first included) set; a bad value is a usage error."""
    environ = os.environ if environ is None else environ

    def number(variable: str, whole: bool) -> float | None:
        text = environ.get(variable, "").strip()
        if not text:
            return None
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = 0
        if not 0 < value <= (20 if whole else 3600):
            wanted = "a whole number from 1 to 20" if whole else "a number of seconds, 0 to 3600"
            raise UsageError(f"{variable}={text!r}: must be {wanted}")
        return value

    connect = number(CONNECT_TIMEOUT_VARIABLE, whole=False)
    read = number(READ_TIMEOUT_VARIABLE, whole=False)
    attempts = number(MAX_ATTEMPTS_VARIABLE, whole=True)
    return Patience(
        retries=base.retries if attempts is None else int(attempts) - 1,
        connect_timeout=base.connect_timeout if connect is None else connect,
        read_timeout=base.read_timeout if read is None else read,
    )


def _seconds(value: float) -> str:
    return f"{value:g}"


@dataclass
class Plan:
    """Everything a deploy would do, and nothing it would not."""

    pipeline: CompiledPipeline
    deployed: DeployedPipeline | None
    uploads: list[CodeObject]
    diff: DefinitionDiff = field(default_factory=DefinitionDiff)
    settings: list[FieldChange] = field(default_factory=list)  # role_arn, description
    tags_to_add: dict[str, str] = field(default_factory=dict)
    tags_to_remove: list[str] = field(default_factory=list)
    offline: bool = False  # planned without reading AWS: deployed and uploads are assumed
    uploads_checked: bool = True  # False for diff, which does not look at the bucket

    @property
    def changes(self) -> list[str]:
        """One line per change to the pipeline itself (definition, role, description)."""
        lines = self.diff.lines()
        for setting in self.settings:
            if setting.path == "description":
                lines.append("~ description")
            else:
                lines.append(f"~ role: {setting.old} -> {setting.new}")
        return lines if self.deployed is not None else []

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
    """The boto3 clients a command uses, with AWS errors turned into :class:`DeployError`.

    ``notify``, when given, receives a line naming each call that keeps us waiting.
    """

    def __init__(
        self,
        region: str,
        patience: Patience | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        import boto3

        self.region = region
        self.patience = configured(patience or DEPLOY_PATIENCE)
        self._session = boto3.Session(region_name=region)
        self._watch = None
        if notify is not None:
            from smdsl.deploy.watch import CallWatch

            self._watch = CallWatch(notify, self.patience.describe)
        self.sagemaker = self.client("sagemaker")
        self.s3 = self.client("s3")
        self._caller: str | None = None

    def client(self, service: str, retries: int | None = None) -> Any:
        """A new client of ``service`` with this command's timeouts (and ``retries``)."""
        from botocore.config import Config

        patience = self.patience
        config = Config(
            retries={
                "max_attempts": patience.retries if retries is None else retries,
                "mode": "standard",
            },
            connect_timeout=patience.connect_timeout,
            read_timeout=patience.read_timeout,
        )
        client = self._session.client(service, config=config)
        if self._watch is not None:
            self._watch.attach(client)
        return client

    def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        """``client.<operation>(**kwargs)``, with any failure as one :class:`DeployError`."""
        try:
            return getattr(client, _snake(operation))(**kwargs)
        except Exception as exc:
            raise self.failure(operation, exc, client, kwargs) from None

    def failure(
        self,
        operation: str,
        exc: Exception,
        client: Any = None,
        request: Mapping[str, Any] | None = None,
    ) -> Exception:
        """``exc`` from ``operation`` as one :class:`DeployError`; a refusal for lack of
        permission also names the IAM action needed and the identity that lacked it."""
        error = aws_failure(operation, exc, self.patience)
        if not isinstance(error, DeployError) or not _access_denied(exc):
            return error
        hint = self._access_hint(operation, client, request or {})
        return DeployError(f"{error} ({hint})")

    def caller(self) -> str | None:
        """The ARN of the AWS identity in use, or None when STS cannot say (asked once)."""
        if self._caller is None:
            from botocore.config import Config

            try:
                sts = self._session.client(
                    "sts",
                    config=Config(
                        retries={"max_attempts": 0, "mode": "standard"},
                        connect_timeout=min(self.patience.connect_timeout, 3),
                        read_timeout=min(self.patience.read_timeout, 5),
                    ),
                )
                self._caller = str(sts.get_caller_identity()["Arn"])
            except Exception:
                self._caller = ""
        return self._caller or None

    def _access_hint(self, operation: str, client: Any, request: Mapping[str, Any]) -> str:
        service = "sagemaker"
        if client is not None:
            service = str(client.meta.service_model.signing_name)
        name = operation.split()[0]
        action = f"{service}:{IAM_ACTIONS.get(name, name)}"
        target = ""
        if request.get("PipelineName"):
            target = f" on pipeline {request['PipelineName']}"
        elif request.get("Bucket"):
            key = request.get("Key")
            target = f" on s3://{request['Bucket']}" + (f"/{key}" if key else "")
        caller = self.caller()
        who = f"the AWS identity {caller}" if caller else "the AWS identity in use"
        hint = f"{who} needs {action}{target}"
        role = request.get("RoleArn")
        if role:
            hint += f", and iam:PassRole on the pipeline's role {role}"
        return hint


IAM_ACTIONS = {"HeadObject": "GetObject", "HeadBucket": "ListBucket"}
"""API operations whose IAM action has another name."""

ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def _access_denied(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ACCESS_DENIED or (code in (None, "403") and status == 403)


def aws_failure(operation: str, exc: Exception, patience: Patience | None = None) -> Exception:
    """A boto3 failure of ``operation`` as a one-line :class:`DeployError`; other errors as is."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, DeployError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or f"HTTP {status}"
        message = _one_line(error.get("Message") or str(exc))
        server = f" (HTTP {status}, a fault on the AWS side)" if (status or 0) >= 500 else ""
        return DeployError(f"AWS refused {operation}: {code}: {message}{server}")
    if isinstance(exc, NoCredentialsError):
        return DeployError(
            f"{operation} failed: no AWS credentials found (set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; to see a deploy plan without AWS, use "
            "smdsl deploy --dry-run --offline)"
        )
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        waited = ""
        if patience is not None:
            if isinstance(exc, ReadTimeoutError):
                limit, variable = patience.read_timeout, READ_TIMEOUT_VARIABLE
            else:
                limit, variable = patience.connect_timeout, CONNECT_TIMEOUT_VARIABLE
            tries = f"{patience.attempts} attempt{'s' if patience.attempts != 1 else ''}"
            waited = (
                f" (waited {_seconds(limit)} s per attempt, {tries}; {variable} and "
                f"{MAX_ATTEMPTS_VARIABLE} set how long to wait)"
            )
        return DeployError(f"{operation} failed: {exc}{waited}")
    if isinstance(exc, EndpointConnectionError):
        endpoint = exc.kwargs.get("endpoint_url")
        return DeployError(f"{operation} failed: could not connect to {endpoint}")
    if isinstance(exc, BotoCoreError):
        return DeployError(f"{operation} failed: {exc}")
    return exc


def _one_line(message: str) -> str:
    """An error message on one line: an HTML error page (a proxy's, or moto's for what it does
    not implement) is named rather than shown, and a long message is cut."""
    text = " ".join(str(message).split())
    if text.lower().startswith(("<!doctype", "<html")):
        return "(an HTML error page, not an AWS answer)"
    return text if len(text) <= 500 else text[:497] + "..."


def _not_found(exc: Exception) -> bool:
    """Whether DescribePipeline's error means "no such pipeline" (moto and SageMaker differ)."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return error.get("Code") == "ResourceNotFound" or "Could not find pipeline" in str(
        error.get("Message", "")
    )


def describe_pipeline(aws: AwsClients, name: str) -> dict[str, Any] | None:
    """DescribePipeline's answer for ``name``, or None when there is no such pipeline.

    Only "no such pipeline" means None; any other failure is a :class:`DeployError`.
    """
    try:
        described: dict[str, Any] = aws.sagemaker.describe_pipeline(PipelineName=name)
    except Exception as exc:
        if _not_found(exc):
            return None
        raise aws.failure("DescribePipeline", exc, aws.sagemaker, {"PipelineName": name}) from None
    return described


def read_deployed(aws: AwsClients, name: str) -> DeployedPipeline | None:
    """The pipeline ``name`` as deployed, or None when there is none.

    Only "no such pipeline" means None; any other failure to read is a :class:`DeployError`, so
    that a plan never shows a create for a pipeline that could not be read.
    """
    described = describe_pipeline(aws, name)
    if described is None:
        return None
    arn = described["PipelineArn"]
    tags = aws.call(aws.sagemaker, "ListTags", ResourceArn=arn).get("Tags", [])
    text = described.get("PipelineDefinition") or "{}"
    return DeployedPipeline(
        arn=arn,
        definition=parse_definition(text),
        role_arn=described.get("RoleArn"),
        description=described.get("PipelineDescription") or None,
        tags={t["Key"]: t["Value"] for t in tags},
        definition_text=text,
        last_modified=described.get("LastModifiedTime"),
    )


def missing_code(aws: AwsClients, bucket: str, objects: tuple[CodeObject, ...]) -> list[CodeObject]:
    """The code objects not yet in ``bucket``, after checking that the bucket exists."""
    from botocore.exceptions import ClientError

    try:
        aws.s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 403:
            raise aws.failure("HeadBucket", exc, aws.s3, {"Bucket": bucket}) from None
        reason = "does not exist" if status == 404 else "is not accessible"
        raise DeployError(f"S3 bucket {bucket!r} {reason} (HTTP {status})") from None
    except Exception as exc:
        raise aws.failure(f"HeadBucket {bucket}", exc) from None

    def is_missing(obj: CodeObject) -> bool:
        try:
            aws.s3.head_object(Bucket=bucket, Key=obj.key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 403:
                request = {"Bucket": bucket, "Key": obj.key}
                raise aws.failure("HeadObject", exc, aws.s3, request) from None
            if status != 404:
                raise DeployError(f"cannot check s3://{bucket}/{obj.key}: HTTP {status}") from None
            return True
        except Exception as exc:
            raise aws.failure(f"HeadObject s3://{bucket}/{obj.key}", exc) from None
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
    uploads_checked: bool = True,
) -> Plan:
    """Compare the compiled pipeline with what is deployed."""
    plan = Plan(pipeline, deployed, uploads, offline=offline, uploads_checked=uploads_checked)
    new_definition = json.loads(pipeline.definition)
    plan.diff = compare_definitions(deployed.definition if deployed else None, new_definition)
    if deployed is None:
        plan.settings = [FieldChange("role_arn", new=pipeline.role_arn)]
        if pipeline.description:
            plan.settings.append(FieldChange("description", new=pipeline.description))
        plan.tags_to_add = dict(pipeline.tags)
        return plan
    if deployed.role_arn != pipeline.role_arn:
        plan.settings.append(FieldChange("role_arn", deployed.role_arn, pipeline.role_arn))
    if (deployed.description or None) != (pipeline.description or None):
        plan.settings.append(FieldChange("description", deployed.description, pipeline.description))
    plan.tags_to_add = {k: v for k, v in pipeline.tags.items() if deployed.tags.get(k) != v}
    plan.tags_to_remove = sorted(
        k
        for k in deployed.tags
        if k not in pipeline.tags and not k.lower().startswith(RESERVED_TAG_PREFIXES)
    )
    return plan


def check_unchanged(aws: AwsClients, plan: Plan, uploaded: bool = False) -> None:
    """Stop with :class:`ChangedSinceRead` if the pipeline is no longer as the plan read it.

    Compares the definition text, LastModifiedTime, role and description (moto keeps
    LastModifiedTime on an update, SageMaker does not; the text catches both).
    """
    name, region = plan.pipeline.name, plan.pipeline.region
    now = describe_pipeline(aws, name)
    was = plan.deployed
    done = (
        "the new code objects were uploaded (under content hashes, harmless), the pipeline "
        "was not written"
        if uploaded
        else "nothing was written"
    )
    again = "run the deploy again to see the plan against what is deployed now"
    if was is None:
        if now is None:
            return
        raise ChangedSinceRead(
            f"pipeline {name} was created in {region} after this deploy read it (by another "
            f"deploy?): {done}; {again}"
        )
    if now is None:
        raise ChangedSinceRead(
            f"pipeline {name} was deleted from {region} after this deploy read it: {done}; {again}"
        )
    what = []
    if (now.get("PipelineDefinition") or "{}") != was.definition_text:
        what.append("its definition differs")
    if now.get("LastModifiedTime") != was.last_modified:
        what.append(
            f"it was modified at {_when(now.get('LastModifiedTime'))}, after "
            f"{_when(was.last_modified)}"
        )
    if now.get("RoleArn") != was.role_arn:
        what.append("its role differs")
    if (now.get("PipelineDescription") or None) != was.description:
        what.append("its description differs")
    if what:
        raise ChangedSinceRead(
            f"pipeline {name} changed after this deploy read it ({'; '.join(what)}): another "
            f"deploy or an edit in the console came first, and deploying now would overwrite "
            f"it. {done[0].upper()}{done[1:]}; {again}"
        )


def _when(value: Any) -> str:
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat(timespec="seconds")) if callable(isoformat) else str(value)


def apply_plan(aws: AwsClients, plan: Plan) -> None:
    """Upload missing code, then create or update the pipeline and its tags.

    The pipeline is read again before anything is written and, after uploads, once more just
    before it is written: if it changed since the plan read it, nothing is written to it.
    """
    pipeline = plan.pipeline
    check_unchanged(aws, plan)
    in_parallel(
        lambda obj: aws.call(
            aws.s3, "PutObject", Bucket=pipeline.bucket, Key=obj.key, Body=obj.body
        ),
        plan.uploads,
    )
    uploaded = bool(plan.uploads)
    common: dict[str, Any] = {}
    if plan.deployed is None or plan.changes:
        definition = _definition_argument(aws, pipeline)
        uploaded = uploaded or "PipelineDefinitionS3Location" in definition
        common = {"PipelineName": pipeline.name, "RoleArn": pipeline.role_arn, **definition}
        if pipeline.description:
            common["PipelineDescription"] = pipeline.description
    if uploaded:
        check_unchanged(aws, plan, uploaded=True)  # the uploads took time: read once more
    if plan.deployed is None:
        tags = [{"Key": k, "Value": v} for k, v in pipeline.tags.items()]
        try:
            aws.call(aws.sagemaker, "CreatePipeline", **common, **({"Tags": tags} if tags else {}))
        except DeployError as exc:
            raise DeployError(f"{exc}; {_after_failure(aws, plan)}") from None
        return
    if plan.changes:
        try:
            aws.call(aws.sagemaker, "UpdatePipeline", **common)
        except DeployError as exc:
            raise DeployError(f"{exc}; {_after_failure(aws, plan)}") from None
    try:
        _retag(aws, plan, plan.deployed.arn)
    except DeployError as exc:
        if not plan.changes:
            raise
        raise DeployError(
            f"pipeline {pipeline.name} was updated (its new definition is deployed), but "
            f"only its tags failed: {exc}; rerun the deploy to retry the tags"
        ) from None


def _after_failure(aws: AwsClients, plan: Plan) -> str:
    """What the pipeline holds after a failed create or update, read again to be sure."""
    name = plan.pipeline.name
    unknown = f"whether it was written is unknown: run smdsl diff to see what pipeline {name} holds"
    try:
        now = describe_pipeline(aws, name)
    except DeployError:
        return unknown
    if plan.deployed is None:
        if now is None:
            return f"nothing was created (pipeline {name} does not exist)"
        return f"pipeline {name} exists now: run smdsl diff to see what it holds"
    if now is None:
        return f"pipeline {name} no longer exists"
    text = now.get("PipelineDefinition") or "{}"
    if text == plan.deployed.definition_text:
        return (
            f"the deployed pipeline {name} is unchanged (its definition is the one read before "
            "this deploy)"
        )
    if parse_definition(text) == json.loads(plan.pipeline.definition):
        return f"pipeline {name} holds the new definition nonetheless: run smdsl diff to check"
    return (
        f"pipeline {name} now holds a definition that is neither the one read nor the one sent: "
        "run smdsl diff to see it"
    )


def _retag(aws: AwsClients, plan: Plan, arn: str) -> None:
    if plan.tags_to_add:
        tags = [{"Key": k, "Value": v} for k, v in plan.tags_to_add.items()]
        aws.call(aws.sagemaker, "AddTags", ResourceArn=arn, Tags=tags)
    if plan.tags_to_remove:
        aws.call(aws.sagemaker, "DeleteTags", ResourceArn=arn, TagKeys=plan.tags_to_remove)


def definition_key(pipeline: CompiledPipeline) -> str | None:
    """The S3 key a definition over SageMaker's inline limit goes through; None under it."""
    if len(pipeline.definition.encode()) <= INLINE_LIMIT:
        return None
    import hashlib

    digest = hashlib.sha256(pipeline.definition.encode()).hexdigest()
    folder = "/".join(p for p in (pipeline.prefix, "definitions", pipeline.name) if p)
    return f"{folder}/{digest}.json"


def _definition_argument(aws: AwsClients, pipeline: CompiledPipeline) -> dict[str, Any]:
    key = definition_key(pipeline)
    if key is None:
        return {"PipelineDefinition": pipeline.definition}
    aws.call(
        aws.s3, "PutObject", Bucket=pipeline.bucket, Key=key, Body=pipeline.definition.encode()
    )
    return {"PipelineDefinitionS3Location": {"Bucket": pipeline.bucket, "ObjectKey": key}}


def parse_definition(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        # moto returns a definition stored through S3 as a Python repr, not JSON.
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
