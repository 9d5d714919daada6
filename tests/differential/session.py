"""One differential session: a fresh bucket, the echo origin, three edges, and a runner."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from devstack.seaweed import SeaweedFS
from tests.differential.compare import Runner
from tests.differential.harness import echo_origin, edges, fill_bucket
from tests.differential.world import world


@contextlib.contextmanager
def differential(seaweed: SeaweedFS, work: Path) -> Iterator[Runner]:
    bucket = "diff-" + uuid.uuid4().hex[:12]
    client = seaweed.client()
    client.create_bucket(Bucket=bucket)
    etags = fill_bucket(client, bucket)
    s3 = {
        "endpoint_url": seaweed.endpoint,
        "bucket": bucket,
        "region": seaweed.region,
        "access_key_id": seaweed.access_key,
        "secret_access_key": seaweed.secret_key,
    }
    with echo_origin() as origin:
        with edges(work, s3, origin) as ports:
            yield Runner(ports, {name: world(name) for name in ports}, etags)
