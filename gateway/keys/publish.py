"""Where public keys are published: CloudFront (public key + key group) or, locally, the keyring
itself, which the local edge trusts.  Every operation is idempotent so an interrupted rotation can
simply be run again.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from botocore.exceptions import ClientError, WaiterError

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

    @staticmethod
    def key_name(entry: KeyEntry) -> str:
        return f"cdn-gateway-{entry.id}"

    def _find(self, name: str) -> str | None:
        marker: str | None = None
        while True:
            kwargs = {"Marker": marker} if marker else {}
            page = self._client.list_public_keys(**kwargs)["PublicKeyList"]
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
            raise PublishError(f"CreatePublicKey failed: {_code(error) or error}") from None
        return str(created["PublicKey"]["Id"])

    def _change_group(self, key_pair_id: str, add: bool) -> None:
        for _ in range(self._attempts):
            try:
                current = self._client.get_key_group(Id=self._group)
            except ClientError as error:
                raise PublishError(f"GetKeyGroup {self._group} failed: {_code(error) or error}") from None
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
                    raise PublishError(f"UpdateKeyGroup failed: {_code(error) or error}") from None
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
                raise PublishError(f"DeletePublicKey {key_pair_id} failed: {_code(error) or error}") from None

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
        except WaiterError as error:
            code = (error.last_response or {}).get("Error", {}).get("Code")
            reason = (
                f"GetDistribution failed: {code}" if code else f"not Deployed after {self._deploy_timeout:g}s"
            )
            raise PublishError(
                f"distribution {self._distribution}: {reason}; the new key stays pending "
                "(trusted, not signing): run the rotation again to resume"
            ) from None
