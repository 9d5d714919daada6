"""The one boto3 S3 client of a process, and the credentials presigned requests are signed with.

Created once at start-up (a client costs 100+ ms); presigning itself is local CPU work.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from gateway.signing.s3 import AwsCredentials, S3Location


class NoCredentials(RuntimeError):
    """No AWS credentials are configured: nothing can be presigned."""


class S3Access:
    def __init__(
        self,
        location: S3Location,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
    ) -> None:
        self.location = location
        self._session = boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            region_name=location.region,
        )
        self._credentials = self._session.get_credentials()
        if self._credentials is None:
            raise NoCredentials("no AWS credentials found for S3 presigning")
        # Bounded timeouts: the default 60 s read timeout would hang health checks (security case 53).
        self.client: Any = self._session.client(
            "s3",
            endpoint_url=location.endpoint_url,
            region_name=location.region,
            config=Config(
                s3={"addressing_style": location.addressing_style},
                connect_timeout=2,
                read_timeout=5,
                retries={"mode": "standard", "max_attempts": 2},
            ),
        )

    def credentials(self) -> AwsCredentials:
        """Current credentials (refreshed by botocore when temporary), with their expiry."""
        frozen = self._credentials.get_frozen_credentials()
        expiry = getattr(self._credentials, "_expiry_time", None)  # RefreshableCredentials only
        return AwsCredentials(
            frozen.access_key,
            frozen.secret_key,
            frozen.token,
            expiry.timestamp() if expiry is not None else None,
        )
