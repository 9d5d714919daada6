"""The keyring under an S3 prefix: ``keyring.json`` and one ``<id>.pem`` per key, in the format of
the directory keyring.  Every gateway and edge polls it; only the key commands write it.

Why S3: the gateways already reach S3 (and a self-hosted deployment has an S3-compatible store),
IAM can grant the edges ``keyring.json`` alone and the gateways the key files too, the bucket's
SSE-KMS default encryption (or ``keys.store_kms_key_id``) encrypts the private keys at rest, and
S3 is strongly consistent: a read after a successful write returns it, and a write replaces an
object whole ("Amazon S3 data consistency model", S3 User Guide).  Concurrent commands are caught
by conditional writes (``If-Match`` on the ``ETag`` read, ``If-None-Match: *`` for new objects;
"How to prevent object overwrites with conditional writes", S3 User Guide): the loser changes
nothing more and says so.  Only botocore is used, so that the edge can read it too.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from gateway.keys.model import (
    KEYRING_FILE,
    KeyEntry,
    Keyring,
    KeyringError,
    KeyState,
    matching_private,
    parse_keyring,
    parse_private_pem,
)
from gateway.keys.settings import parse_store_url
from gateway.keys.store import KEY_FILE, StoreError
from gateway.signing.crypto import PrivateKey, private_pem

REPLICAS = "replicas/"
# A key file younger than this is never taken for an orphan: a concurrent command may be about to
# record it (creating the file and recording it are milliseconds apart).
ORPHAN_AGE_SECONDS = 3600


def store_client(
    region: str,
    endpoint_url: str = "",
    addressing_style: str = "path",
    access_key: str = "",
    secret_key: str = "",
) -> Any:
    """A botocore S3 client with bounded timeouts; without keys, the default credential chain."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": addressing_style} if endpoint_url else {},
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return botocore.session.get_session().create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


def why(error: Exception) -> str:
    """One line on an S3 failure, and what to do where that is clear."""
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found (run with a role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID)"
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "")) or "error"
        if code in ("AccessDenied", "403", "Forbidden"):
            return f"{code}: these credentials may not do that (see docs/operations.md, key store)"
        return code
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _missing(error: ClientError) -> bool:
    return _code(error) in ("NoSuchKey", "404", "NotFound")


@dataclass(frozen=True)
class StoredReport:
    name: str
    body: bytes
    age_seconds: float  # by the store's clock: a laptop's skew does not matter


class S3KeyringStore:
    def __init__(self, client: Any, url: str, kms_key_id: str = "") -> None:
        self.bucket, self.prefix = parse_store_url(url)
        self.location = f"s3://{self.bucket}/{self.prefix}"
        self._client = client
        self._kms = kms_key_id
        self._etag: str | None = None  # of keyring.json as this process last read or wrote it

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _put(self, name: str, body: bytes, **conditions: str) -> str:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms} if self._kms else {}
        answer = self._client.put_object(
            Bucket=self.bucket, Key=self._key(name), Body=body, **extra, **conditions
        )
        return str(answer.get("ETag", ""))

    def identity(self) -> str | None:
        try:
            return str(self._client.head_object(Bucket=self.bucket, Key=self._key(KEYRING_FILE))["ETag"])
        except ClientError as error:
            if _missing(error):
                return None
            raise KeyringError(self.location, [f"cannot read {KEYRING_FILE}: {why(error)}"]) from None
        except BotoCoreError as error:
            raise KeyringError(self.location, [f"cannot read {KEYRING_FILE}: {why(error)}"]) from None

    def _get(self, name: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag; None when absent; KeyringError when it cannot be read."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            return answer["Body"].read(), str(answer.get("ETag", ""))
        except ClientError as error:
            if _missing(error):
                return None
            raise KeyringError(self.location, [f"cannot read {name}: {why(error)}"]) from None
        except BotoCoreError as error:
            raise KeyringError(self.location, [f"cannot read {name}: {why(error)}"]) from None

    def load(self, *, private: bool) -> Keyring:
        found = self._get(KEYRING_FILE)
        shown = self.location + KEYRING_FILE
        if found is None:
            hint = "create the first key with: cdn-gateway keys init --config <gateway.toml>"
            raise KeyringError(self.location, [f"{shown} is missing ({hint})"])
        data, self._etag = found
        return parse_keyring(self.location, shown, data, self.read_private if private else None)

    def read_private(self, entry: KeyEntry, problems: list[str]) -> PrivateKey | None:
        name = self.location + entry.file
        try:
            found = self._get(entry.file)
        except KeyringError as error:
            problems.extend(error.problems)
            return None
        if found is None:
            problems.append(f"{name} is missing")
            return None
        return matching_private(name, entry, parse_private_pem(name, found[0], problems), problems)

    @contextlib.contextmanager
    def session(self) -> Iterator[Keyring]:
        # No lock object (a killed command would leave it behind): every write of keyring.json
        # is conditional on the ETag this session read, so a concurrent command loses cleanly.
        yield self.load(private=False)

    def exists(self) -> bool:
        return self.identity() is not None

    def create(self, keyring: Keyring) -> None:
        if self.exists():
            shown = self.location + KEYRING_FILE
            raise KeyringError(self.location, [f"{shown} already exists; refusing to overwrite"])
        self.save_private(keyring.active_id, keyring.require_signer().key)
        self._write(keyring.to_bytes(), IfNoneMatch="*")

    def save(self, keyring: Keyring) -> None:
        self._write(keyring.to_bytes(), **({"IfMatch": self._etag} if self._etag else {"IfNoneMatch": "*"}))

    def _write(self, data: bytes, **condition: str) -> None:
        try:
            self._etag = self._put(KEYRING_FILE, data, ContentType="application/json", **condition)
        except ClientError as error:
            if _code(error) in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise StoreError(
                    f"{self.location}{KEYRING_FILE} changed while this command ran (another key "
                    "command?): nothing more was written; run it again"
                ) from None
            raise StoreError(f"writing {self.location}{KEYRING_FILE} failed: {why(error)}") from None
        except BotoCoreError as error:
            raise StoreError(f"writing {self.location}{KEYRING_FILE} failed: {why(error)}") from None

    def save_private(self, key_id: str, key: PrivateKey) -> None:
        try:
            self._put(f"{key_id}.pem", private_pem(key), IfNoneMatch="*")  # never replaces a key
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"writing {self.location}{key_id}.pem failed: {why(error)}") from None

    def _delete(self, name: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"deleting {self.location}{name} failed: {why(error)}") from None

    def delete_private(self, entry: KeyEntry) -> None:
        self._delete(entry.file)  # deleting what is gone succeeds: a re-run converges

    def remove(self, name: str) -> None:
        self._delete(name)

    def _list(self, prefix: str) -> tuple[list[dict[str, Any]], float]:
        """Objects directly under ``prefix`` and the store's clock (the answer's Date header)."""
        objects: list[dict[str, Any]] = []
        now = time.time()
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._key(prefix), "Delimiter": "/"}
        try:
            while True:
                page = self._client.list_objects_v2(**kwargs)
                date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
                if date:
                    now = email.utils.parsedate_to_datetime(date).timestamp()
                objects.extend(page.get("Contents") or [])
                if not page.get("IsTruncated"):
                    return objects, now
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"listing {self.location}{prefix} failed: {why(error)}") from None

    def orphans(self, keyring: Keyring) -> list[str]:
        named = {e.file for e in keyring.entries if e.state is not KeyState.RETIRED}
        objects, now = self._list("")
        out = []
        for item in objects:
            name = str(item["Key"])[len(self.prefix) :]
            old = now - item["LastModified"].timestamp() > ORPHAN_AGE_SECONDS
            if KEY_FILE.match(name) and name not in named and old:
                out.append(name)
        return sorted(out)

    def put_report(self, name: str, body: bytes) -> None:
        try:
            self._put(f"{REPLICAS}{name}.json", body, ContentType="application/json")
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"writing {self.location}{REPLICAS}{name}.json failed: {why(error)}") from None

    def delete_report(self, name: str) -> None:
        self._delete(f"{REPLICAS}{name}.json")

    def reports(self) -> list[StoredReport]:
        objects, now = self._list(REPLICAS)
        out = []
        for item in objects:
            name = str(item["Key"])[len(self.prefix) + len(REPLICAS) :].removesuffix(".json")
            try:
                found = self._get(f"{REPLICAS}{name}.json")
            except KeyringError as error:
                raise StoreError("; ".join(error.problems)) from None
            if found is not None:
                out.append(StoredReport(name, found[0], max(0.0, now - item["LastModified"].timestamp())))
        return out
