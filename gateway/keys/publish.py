"""Where public keys are published: CloudFront (public key + key group) or, locally, the keyring
itself, which the local edge trusts.  Every operation is idempotent so an interrupted rotation can
simply be run again.
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError

from gateway.keyring import KeyEntry

CLOUDFRONT_MAX_KEYS_PER_GROUP = 5  # the default quota


class PublishError(RuntimeError):
    """A publishing step failed; the message is for the operator."""


class Publisher(Protocol):
    def publish(self, entry: KeyEntry) -> str:
        """Make the public key known (idempotent) and return its Key-Pair-Id."""
        ...

    def add_to_group(self, key_pair_id: str) -> None: ...

    def remove_from_group(self, key_pair_id: str) -> None: ...

    def delete(self, key_pair_id: str) -> None: ...


class LocalPublisher:
    """Locally the keyring is the key group: the edge trusts every published, unretired key."""

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

    def __init__(
        self, client: Any, key_group_id: str, max_keys: int = CLOUDFRONT_MAX_KEYS_PER_GROUP, attempts: int = 3
    ) -> None:
        self._client = client
        self._group = key_group_id
        self._max_keys = max_keys
        self._attempts = attempts

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
