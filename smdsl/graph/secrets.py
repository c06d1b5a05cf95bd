"""Secrets that would land in a pipeline definition, found before anything is compiled.

AWS shows every field of a pipeline definition to anyone allowed ``sagemaker:DescribePipeline``,
so a password in a step's ``environment``, ``hyperparameters`` or ``arguments``, or in a
parameter's default, is readable by far more people than it should be. What counts as a secret:

- a value under a name whose last words say so (see :func:`secret_name`): ``DB_PASSWORD``,
  ``apiKey``, ``hf_token``, ``AWS_SECRET_ACCESS_KEY``, and the value after such a flag in an
  arguments list (``["--api-key", "..."]``);
- a number (not a boolean: ``use_secret: True`` is a switch) under such a name;
- whatever its name, a value that looks like a credential (see :func:`secret_value`): an AWS
  access key ID, a PEM private key, a URL with a password in it, a GitHub, OpenAI-style or Slack
  token, a Slack webhook URL, a ``Bearer`` token or a JWT; or a 40-character AWS secret access
  key next to an access key ID.

Parameters, step references and ``join(...)`` are no literal values and pass; so do an empty
string, an ARN (the way to point at a secret), and a value wrapped in :func:`smdsl.not_secret`.
Messages name where the value is, never the value itself, and end in a short pointer
(:data:`ADVICE`): docs/security.md says the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from smdsl.declare.base import StepConfig
from smdsl.declare.notsecret import NotSecret
from smdsl.declare.options import StepOptions
from smdsl.declare.params import Parameter

SECRET_ENDINGS: tuple[tuple[str, ...], ...] = (
    ("password",),
    ("passwd",),
    ("pwd",),
    ("passphrase",),
    ("secret",),
    ("token",),
    ("credential",),
    ("credentials",),
    ("apikey",),
    ("api", "key"),
    ("privatekey",),
    ("private", "key"),
    ("secretkey",),
    ("secret", "key"),
    ("accesskey",),
    ("access", "key"),
    ("access", "key", "id"),
)
"""A name whose last words are one of these holds a secret (``DB_PASSWORD``, ``hfToken``...)."""

SECRET_SUFFIXES = ("password", "passwd", "passphrase", "apikey")
"""Words that mark a secret even at the end of a longer word (``DBPASSWORD``, ``MYAPIKEY``)."""

NOT_SECRET_TOKENS = frozenset(
    {"pad", "eos", "bos", "unk", "mask", "cls", "sep", "special", "start", "end", "stop"}
    | {"max", "min", "num"}
)
"""Words before ``token`` that make it a language model's token or a count, not a credential."""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_SECRET_ACCESS_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_URL_PASSWORD = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:(?P<password>[^\s/@]+)@")
_PLACEHOLDER = re.compile(r"\$\{?\w+\}?|\{+[^{}]*\}+|<[^<>]*>|\*+|%\(\w+\)s")
"""A URL's password that stands for one: ``${DB_PASSWORD}``, ``{password}``, ``<pw>``, ``***``."""
_GITHUB_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])|github_pat_[A-Za-z0-9_]{22,})"
)
_SK_KEY = re.compile(r"(?<![A-Za-z0-9_-])sk-(?:proj-)?(?P<tail>[A-Za-z0-9_-]{20,})")
_SLACK_TOKEN = re.compile(r"(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}")
_SLACK_WEBHOOK = re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9]")
_BEARER = re.compile(
    r"(?<![A-Za-z0-9])bearer\s+(?P<token>[A-Za-z0-9._~+/-]{12,}=*)", flags=re.IGNORECASE
)
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

ADVICE = (
    "readable via DescribePipeline; store it in Secrets Manager or SSM and pass its name, "
    "or wrap a false positive in smdsl.not_secret() (docs/security.md)"
)
"""The pointer each secret problem ends in: short, since a pipeline may have several."""

PROFILE_ADVICE = (
    "readable via DescribePipeline; store it in Secrets Manager or SSM and pass its name, "
    "or rename a variable that is no secret (docs/security.md)"
)
"""The pointer for a value set in a profile or a variable, where not_secret() cannot be used."""

PARAMETER_ADVICE = (
    "its default lands in the pipeline definition: give it no default, or let it hold "
    "the name of a secret in Secrets Manager or SSM (docs/security.md)"
)


@dataclass(frozen=True)
class Finding:
    """One literal secret: where it is (``environment['DB_PASSWORD']``) and why it is one."""

    field: str
    reason: str
    key: str | None = None  # the name in a mapping (environment, hyperparameters)

    @property
    def message(self) -> str:
        return f"{self.reason}: {ADVICE}"


def name_words(name: str) -> list[str]:
    """The lower-cased words of ``name``, split at ``_ - .``, spaces and camelCase humps."""
    return [word.lower() for word in _WORD.findall(name)]


def secret_name(name: str) -> bool:
    """Whether ``name`` says its value is a secret (judged by its last words, not substrings).

    ``DB_PASSWORD``, ``apiKey``, ``HF_TOKEN`` and ``AWS_SECRET_ACCESS_KEY`` are; ``TOKENIZER``,
    ``max_tokens``, ``pad_token``, ``DB_PASSWORD_SECRET_ARN`` and ``PWD`` (a folder) are not.
    """
    words = name_words(name)
    if not words or words == ["pwd"]:
        return False
    if words[-1] == "token" and len(words) > 1 and words[-2] in NOT_SECRET_TOKENS:
        return False
    if any(tuple(words[-len(end) :]) == end for end in SECRET_ENDINGS if len(end) <= len(words)):
        return True
    return words[-1].endswith(SECRET_SUFFIXES)


def _random(text: str) -> bool:
    """Whether ``text`` mixes letters and digits, as a generated key does and a word does not."""
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def secret_value(value: str) -> str | None:
    """What ``value`` looks like if it looks like a credential whatever its name, else None.

    Each rule looks for a shape no ordinary value has, so that false positives stay rare: an
    S3 URI, a URL without a password, a git SHA or ``sk-learn`` pass.
    """
    if _ACCESS_KEY_ID.search(value):
        return "the value looks like an AWS access key ID"
    if _PRIVATE_KEY.search(value):
        return "the value holds a PEM private key"
    if _GITHUB_TOKEN.search(value):
        return "the value looks like a GitHub token"
    if any(_random(match["tail"]) for match in _SK_KEY.finditer(value)):
        return "the value looks like an API key (sk-...)"
    if _SLACK_TOKEN.search(value):
        return "the value looks like a Slack token"
    if _SLACK_WEBHOOK.search(value):
        return "the value is a Slack webhook URL, which anyone can post with"
    if _JWT.search(value):
        return "the value looks like a JWT"
    if any(_random(match["token"]) for match in _BEARER.finditer(value)):
        return "the value holds a Bearer token"
    if any(
        not _PLACEHOLDER.fullmatch(match["password"]) for match in _URL_PASSWORD.finditer(value)
    ):
        return "the value is a URL with a password in it"
    return None


def _literal(value: object) -> str | None:
    """``value`` if it is a string that lands in the definition as written and may be checked."""
    if not isinstance(value, str) or isinstance(value, NotSecret):
        return None
    return value


def _number(value: object) -> bool:
    """Whether ``value`` is a literal number; a boolean is a switch (``use_secret=True``)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _named_secret(name: str, value: str) -> bool:
    return secret_name(name) and value != "" and not value.startswith("arn:")


def mapping_findings(field: str, values: Mapping[str, object]) -> Iterator[Finding]:
    """The secrets among ``values`` (an ``environment`` or ``hyperparameters`` mapping)."""
    literals = {key: _literal(value) for key, value in values.items()}
    near_key_id = any(text and _ACCESS_KEY_ID.search(text) for text in literals.values())
    for key, text in literals.items():
        where = f"{field}[{key!r}]"
        if text is None:
            if _number(values[key]) and secret_name(key):
                yield Finding(where, f"the name {key!r} says it holds a secret", key)
            continue
        if _named_secret(key, text):
            yield Finding(where, f"the name {key!r} says it holds a secret", key)
        elif reason := secret_value(text):
            yield Finding(where, reason, key)
        elif near_key_id and _SECRET_ACCESS_KEY.fullmatch(text):
            yield Finding(where, "the value looks like an AWS secret access key", key)


def argument_findings(arguments: Sequence[object], field: str = "arguments") -> Iterator[Finding]:
    """The secrets in a processing step's ``arguments``, including the value after a flag."""
    literals = [_literal(value) for value in arguments]
    near_key_id = any(text and _ACCESS_KEY_ID.search(text) for text in literals)
    for index, text in enumerate(literals):
        where = f"{field}[{index}]"
        before = (literals[index - 1] if index else None) or ""
        if text is None:
            if _number(arguments[index]) and before.startswith("-") and secret_name(before):
                yield Finding(where, f"the value after {before!r} is a secret, by the flag's name")
            continue
        if text.startswith("-") and "=" in text:
            option, value = text.split("=", 1)
            if _named_secret(option, value):
                yield Finding(where, f"the value of {option!r} is a secret, by the flag's name")
                continue
        if before.startswith("-") and not text.startswith("--") and _named_secret(before, text):
            yield Finding(where, f"the value after {before!r} is a secret, by the flag's name")
            continue
        if reason := secret_value(text):
            yield Finding(where, reason)
        elif near_key_id and _SECRET_ACCESS_KEY.fullmatch(text):
            yield Finding(where, "the value looks like an AWS secret access key")


def step_findings(options: StepOptions, config: StepConfig | None) -> Iterator[Finding]:
    """The secrets in a step's resolved options (env overrides applied) and its config."""
    yield from mapping_findings("environment", options.variables)
    for field_name, how, value in config.secret_scans() if config is not None else ():
        if how == "arguments":
            yield from argument_findings(value, field_name)
        elif how == "value":
            for found in argument_findings([value], field_name):
                yield Finding(field_name, found.reason, found.key)
        else:
            yield from mapping_findings(field_name, value)


def step_problems(
    step: str,
    declared: StepOptions,
    resolved: StepOptions,
    config: StepConfig | None,
    profile: str,
) -> Iterator[tuple[str, str]]:
    """(message, field) for each secret of a step; ``profile`` names the env profile in use.

    ``declared`` holds the options the decorator was given, ``resolved`` those with the
    profile's overrides applied: a secret that only the override brings in says where it came
    from.
    """
    for finding in step_findings(resolved, config):
        key = finding.key
        if (
            key is not None
            and finding.field.startswith("environment[")
            and declared.variables.get(key) != resolved.variables.get(key)
        ):
            variable = f"SMDSL_STEPS__{step}__ENVIRONMENT".upper()
            origin = f"set by {profile} steps.{step} or {variable}"
            yield f"{finding.reason} ({origin}): {PROFILE_ADVICE}", finding.field
        else:
            yield finding.message, finding.field


def parameter_problem(parameter: Parameter) -> str | None:
    """Why a parameter's default is a secret, which would be written into the definition."""
    default = _literal(parameter.default)
    named = f"parameter {parameter.name!r}: its name says it holds a secret"
    if default is None:
        reason = named if _number(parameter.default) and secret_name(parameter.name) else None
    elif _named_secret(parameter.name, default):
        reason = named
    elif value_reason := secret_value(default):
        reason = f"parameter {parameter.name!r}: {value_reason.replace('the value', 'its default')}"
    else:
        reason = None
    return f"{reason}, and {PARAMETER_ADVICE}" if reason else None
