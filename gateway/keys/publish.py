"""Where public keys are published: CloudFront (public key + key group) or, locally, the keyring
itself, which the local edge trusts.  Every operation is idempotent so an interrupted rotation can
simply be run again, and every AWS failure is one line saying what failed and what to do.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, WaiterError

from gateway.keys.keyring import KeyEntry

CLOUDFRONT_MAX_KEYS_PER_GROUP = 5  # the default quota
# AWS is "reliably pushing" CloudFront configuration changes to all edge locations "within 5
# minutes" (AWS Networking & Content Delivery blog, "Slashing CloudFront change propagation times
# in 2020"); until an edge has the new key group it answers InvalidKey for the new key.
CLOUDFRONT_PROPAGATION_SECONDS = 300.0
# The bound the SDK's own DistributionDeployed waiter uses (35 polls, 60 s apart); before 2020,
# propagation averaged 17-35 minutes (same post).
CLOUDFRONT_DEPLOY_TIMEOUT_SECONDS = 35 * 60.0
# The local edge and the gateway re-read keyring.json every 2 s (signing.reload_interval_seconds).
LOCAL_PROPAGATION_SECONDS = 5.0


class PublishError(RuntimeError):
    """A publishing step failed; the message is for the operator."""


class Publisher(Protocol):
    # The wait between publishing and signing below which verifiers may not trust the key yet.
    safe_wait_seconds: float
    # What trusts a published key, as the operator's messages say it.
    trusted_by: str

    def check(self) -> None:
        """Before anything is created: can the publisher be reached and used?  PublishError if not."""
        ...

    def publish(self, entry: KeyEntry) -> str:
        """Make the public key known (idempotent) and return its Key-Pair-Id."""
        ...

    def add_to_group(self, key_pair_id: str) -> None: ...

    def remove_from_group(self, key_pair_id: str) -> None: ...

    def delete(self, key_pair_id: str) -> None: ...

    def wait_until_deployed(self) -> None:
        """Block until the verifiers report the current key group everywhere, or raise PublishError."""
        ...


class LocalPublisher:
    """Locally the keyring is the key group: the edge trusts every published, unretired key."""

    safe_wait_seconds = LOCAL_PROPAGATION_SECONDS
    trusted_by = "the keyring itself (local publisher: only cdn-gateway edges; CloudFront is not told)"

    def check(self) -> None:
        return None

    def wait_until_deployed(self) -> None:
        return None  # nothing reports it: the wait covers the edge's reload interval

    def publish(self, entry: KeyEntry) -> str:
        return entry.id

    def add_to_group(self, key_pair_id: str) -> None:
        return None

    def remove_from_group(self, key_pair_id: str) -> None:
        return None

    def delete(self, key_pair_id: str) -> None:
        return None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_ADVICE = {
    "AccessDenied": "the credentials may not call it: grant the rotating role the CloudFront "
    "permissions in docs/operations.md",
    "NoSuchPublicKey": "no such CloudFront public key: check the id",
    "NoSuchResource": "no such key group: check keys.key_group_id",
    "InvalidClientTokenId": "the AWS access key is not valid",
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key",
    "ExpiredToken": "the AWS session has expired: sign in again",
}


def aws_failure(what: str, error: Exception) -> PublishError:
    """``what`` failed, why, and what to do, in one line (never botocore's traceback)."""
    if isinstance(error, NoCredentialsError):
        reason = (
            "no AWS credentials found: run where a role provides them, or set AWS_PROFILE "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    elif isinstance(error, ClientError):
        code = _code(error) or "error"
        reason = f"{code}: {_ADVICE[code]}" if code in _ADVICE else code
    else:
        reason = (str(error).splitlines() or [type(error).__name__])[0]
    return PublishError(f"{what} failed: {reason}")


class CloudFrontPublisher:
    """CreatePublicKey, then UpdateKeyGroup with the ETag from GetKeyGroup (optimistic locking)."""

    safe_wait_seconds = CLOUDFRONT_PROPAGATION_SECONDS

    def __init__(
        self,
        client: Any,
        key_group_id: str,
        max_keys: int = CLOUDFRONT_MAX_KEYS_PER_GROUP,
        attempts: int = 3,
        distribution_id: str = "",
        poll_seconds: float = 15.0,
        deploy_timeout_seconds: float = CLOUDFRONT_DEPLOY_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._group = key_group_id
        self._max_keys = max_keys
        self._attempts = attempts
        self._distribution = distribution_id
        self._poll = poll_seconds
        self._deploy_timeout = deploy_timeout_seconds
        self.trusted_by = f"CloudFront key group {key_group_id}"

    def _call(self, what: str, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as error:
            raise aws_failure(what, error) from None

    def check(self) -> None:
        """GetKeyGroup: credentials, permission and the key group, before anything is created."""
        self._call(f"CloudFront GetKeyGroup {self._group}", "get_key_group", Id=self._group)

    def group_items(self) -> list[str]:
        answer = self._call(f"CloudFront GetKeyGroup {self._group}", "get_key_group", Id=self._group)
        return list(answer["KeyGroup"]["KeyGroupConfig"].get("Items") or [])

    def public_key(self, key_pair_id: str) -> str:
        """The PEM CloudFront holds for ``key_pair_id`` (GetPublicKey)."""
        answer = self._call(f"CloudFront GetPublicKey {key_pair_id}", "get_public_key", Id=key_pair_id)
        return str(answer["PublicKey"]["PublicKeyConfig"]["EncodedKey"])

    @staticmethod
    def key_name(entry: KeyEntry) -> str:
        return f"cdn-gateway-{entry.id}"

    def _find(self, name: str) -> str | None:
        marker: str | None = None
        while True:
            kwargs = {"Marker": marker} if marker else {}
            page = self._call("CloudFront ListPublicKeys", "list_public_keys", **kwargs)["PublicKeyList"]
            for item in page.get("Items") or []:
                if item.get("Name") == name:
                    return str(item["Id"])
            marker = page.get("NextMarker")
            if not marker:
                return None

    def publish(self, entry: KeyEntry) -> str:
        name = self.key_name(entry)
        existing = self._find(name)  # a rotation interrupted after CreatePublicKey finds it here
        if existing is not None:
            return existing
        try:
            created = self._client.create_public_key(
                PublicKeyConfig={
                    "CallerReference": entry.id,
                    "Name": name,
                    "EncodedKey": entry.public_key,
                    "Comment": f"cdn-gateway {entry.algorithm} key created {entry.created}",
                }
            )
        except ClientError as error:
            if _code(error) == "PublicKeyAlreadyExists":
                found = self._find(name)
                if found is not None:
                    return found
            raise aws_failure("CloudFront CreatePublicKey", error) from None
        except BotoCoreError as error:
            raise aws_failure("CloudFront CreatePublicKey", error) from None
        return str(created["PublicKey"]["Id"])

    def _change_group(self, key_pair_id: str, add: bool) -> None:
        for _ in range(self._attempts):
            current = self._call(f"CloudFront GetKeyGroup {self._group}", "get_key_group", Id=self._group)
            config = dict(current["KeyGroup"]["KeyGroupConfig"])
            items = list(config.get("Items") or [])
            if (key_pair_id in items) == add:
                return  # already as wanted
            if add and len(items) >= self._max_keys:
                raise PublishError(
                    f"key group {self._group} already holds {len(items)} keys (CloudFront allows "
                    f"{self._max_keys}); run 'make retire-keys' first"
                )
            items = [*items, key_pair_id] if add else [i for i in items if i != key_pair_id]
            if not items:
                raise PublishError(f"refusing to leave key group {self._group} empty")
            config["Items"] = items
            try:
                self._client.update_key_group(KeyGroupConfig=config, Id=self._group, IfMatch=current["ETag"])
                return
            except ClientError as error:
                if _code(error) != "PreconditionFailed":  # someone else changed the group: re-read
                    raise aws_failure(f"CloudFront UpdateKeyGroup {self._group}", error) from None
            except BotoCoreError as error:
                raise aws_failure(f"CloudFront UpdateKeyGroup {self._group}", error) from None
        raise PublishError(f"key group {self._group} kept changing under us; try again")

    def add_to_group(self, key_pair_id: str) -> None:
        self._change_group(key_pair_id, add=True)

    def remove_from_group(self, key_pair_id: str) -> None:
        self._change_group(key_pair_id, add=False)

    def delete(self, key_pair_id: str) -> None:
        try:
            etag = self._client.get_public_key(Id=key_pair_id)["ETag"]
            self._client.delete_public_key(Id=key_pair_id, IfMatch=etag)
        except ClientError as error:
            if _code(error) != "NoSuchPublicKey":
                raise aws_failure(f"CloudFront DeletePublicKey {key_pair_id}", error) from None
        except BotoCoreError as error:
            raise aws_failure(f"CloudFront DeletePublicKey {key_pair_id}", error) from None

    def wait_until_deployed(self) -> None:
        """Poll GetDistribution until Status is Deployed: "the distribution's information is fully
        propagated to all CloudFront edge locations" (Distribution, CloudFront API Reference).

        Whether a key-group change shows as InProgress at once is not documented, so this only
        adds to the propagation wait, never replaces it.
        """
        if not self._distribution:
            return
        attempts = max(1, math.ceil(self._deploy_timeout / self._poll))
        try:
            self._client.get_waiter("distribution_deployed").wait(
                Id=self._distribution, WaiterConfig={"Delay": self._poll, "MaxAttempts": attempts}
            )
        except BotoCoreError as error:
            if not isinstance(error, WaiterError):
                raise aws_failure(f"CloudFront GetDistribution {self._distribution}", error) from None
            code = (error.last_response or {}).get("Error", {}).get("Code")
            reason = (
                f"GetDistribution failed: {code}" if code else f"not Deployed after {self._deploy_timeout:g}s"
            )
            raise PublishError(
                f"distribution {self._distribution}: {reason}; the new key stays pending "
                "(trusted, not signing): run the rotation again to resume"
            ) from None
