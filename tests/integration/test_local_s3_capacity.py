"""The local S3 holds as many buckets as a test run (or a long ``make run``) makes.

weed mini sizes its volume count from the free disk space and a volume size of up to 1 GB: on a
disk with 74 GB free it allowed 73 volumes, one per bucket, and the suite's later tests failed with
S3 ``InternalError`` ("No writable volumes and no free volumes left").
"""

from __future__ import annotations

import json
import urllib.request

from devstack.seaweed import MAX_VOLUMES, SeaweedFS


def test_the_local_s3_has_room_for_every_bucket_a_run_makes(seaweed: SeaweedFS) -> None:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{seaweed.ports['master']}/dir/status", timeout=10
    ) as answer:
        topology = json.load(answer)["Topology"]
    assert topology["Max"] == MAX_VOLUMES
    assert topology["Free"] > MAX_VOLUMES // 2, "the run so far used half the volumes: raise MAX_VOLUMES"
