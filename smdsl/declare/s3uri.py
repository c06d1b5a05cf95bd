"""S3 URIs as S3 accepts them: ``s3://bucket/key`` with a valid bucket name."""

from __future__ import annotations

import re
import string

_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_BUCKET_CHARACTERS = set(string.ascii_lowercase + string.digits + ".-")


def check_s3_uri(value: str) -> str:
    """``value`` if it is an S3 URI, else a ValueError saying what is wrong with it."""
    problem = s3_uri_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} is not an S3 URI: {problem}")
    return value


def s3_uri_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an S3 URI (``s3://bucket/key``), or None if nothing is.

    The bucket follows the S3 naming rules: 3-63 lowercase letters, digits, dots and hyphens,
    starting and ending with a letter or digit, no ``..``, not like an IP address.
    """
    if value != value.strip():
        return "it has spaces at its start or end; remove them"
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("s3", "s3a", "s3n"):
        return "it does not start with s3:// (an S3 URI reads s3://bucket/key)"
    if scheme != "s3":
        return f"write the scheme as s3://, not {scheme}://"
    bucket = rest.split("/", 1)[0]
    if not bucket:
        return "it names no bucket (an S3 URI reads s3://bucket/key)"
    name = f"the bucket name {bucket!r}"
    if not 3 <= len(bucket) <= 63:
        size = f"{len(bucket)} character{'s' if len(bucket) > 1 else ''}"
        return f"{name} is {size} long; a bucket name has 3 to 63 characters"
    wrong = set(bucket) - _BUCKET_CHARACTERS
    if wrong:
        found = [repr(c) for c in sorted(wrong) if not c.isupper()]
        if any(c.isupper() for c in wrong):
            found.insert(0, "uppercase letters")
        return (
            f"{name} has {' and '.join(found)}; a bucket name has only lowercase letters, "
            "digits, dots and hyphens"
        )
    if not (bucket[0].isalnum() and bucket[-1].isalnum()):
        return f"{name} must start and end with a letter or digit"
    if ".." in bucket:
        return f"{name} has two dots in a row"
    if _IP_ADDRESS.match(bucket):
        return f"{name} is formatted like an IP address, which S3 does not allow"
    return None
