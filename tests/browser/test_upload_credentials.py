"""The upload page's "use temporary credentials" mode in Chromium, against the stack exactly as
``make run`` starts it (its rules let credentials write the caller's own prefix): the AWS SDK for
JavaScript v3 puts and lists with credentials from ``/v1/credentials``, S3 refuses another user's
prefix in the browser too."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, Request

from devstack.stack import BUCKET, Stack
from tests.browser.conftest import ARTIFACTS
from tests.conftest import stored
from tests.stackutil import running_stack

OPEN_PAGES: dict[str, Page] = {}  # screenshotted when a test fails (conftest)

# In the page: the SDK client of the signed-in user, used on another user's prefix.
OTHER_USER = """async ([operation]) => {
  const { client, sdk, bucket } = await s3Client();
  const command = operation === "list"
    ? new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: "users/bob/" })
    : new sdk.PutObjectCommand({ Bucket: bucket, Key: "users/bob/from-alice.txt", Body: "not yours" });
  try { await client.send(command); return "allowed"; }
  catch (error) { return error.name; }
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (40, 160, 90)).save(out, format="PNG")
    return out.getvalue()


def test_upload_and_list_with_temporary_credentials(browser: Browser, stack: Stack) -> None:
    page = OPEN_PAGES["upload"] = browser.new_page()
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    page.goto(f"{stack.config.edge_url}/demo/upload.html")
    page.fill("#user", "alice")
    page.click("#signin")
    page.wait_for_function("() => !document.getElementById('upload').disabled")
    page.check("#use-credentials")
    page.set_input_files(
        "#file", files=[FilePayload(name="sdk photo.png", mimeType="image/png", buffer=_png())]
    )
    page.click("#upload")
    page.wait_for_function(
        "() => { const i = document.getElementById('uploaded'); return i && i.complete && i.naturalWidth > 0 }"
    )
    key = page.eval_on_selector("#uploaded", "i => i.alt")
    assert key.startswith("users/alice/") and key.endswith("-sdk-photo.png")
    assert stored(stack.s3, BUCKET, key) == _png()
    listed = page.inner_text("#listing")
    assert key in listed and "users/alice/albums/holiday/beach.jpg" in listed and "users/bob/" not in listed
    # Straight to S3, signed with the session token; never a presigned upload from the gateway.
    s3 = f"http://127.0.0.1:{stack.config.s3_port}/"
    puts = [r for r in sent if r.method == "PUT" and r.url.startswith(s3)]
    assert puts and all("x-amz-security-token" in r.headers for r in puts)
    assert not [r for r in sent if "/v1/uploads" in r.url]
    assert page.evaluate("() => demo.credentialFetches") >= 1

    assert page.evaluate(OTHER_USER, ["list"]) == "AccessDenied"
    assert page.evaluate(OTHER_USER, ["put"]) == "AccessDenied"
    assert stored(stack.s3, BUCKET, "users/bob/from-alice.txt") is None
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-credentials.png"))
    page.close()
