// "Use temporary credentials": the AWS SDK for JavaScript v3 talks to S3 itself with credentials
// from POST /v1/credentials, which a session policy scopes to what the rules give the signed-in
// user; S3 refuses the rest.  The SDK calls `credentials` again before they expire (it keeps an
// identity until 5 minutes before its `expiration`), so this page never tracks the expiry itself.
"use strict";

const AWS_SDK = "/demo/vendor/aws-sdk/client-s3.js"; // bundled by make install (Makefile, esbuild)

async function fetchCredentials() {
  const response = await fetch("/v1/credentials", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${demo.token}` },
    body: JSON.stringify({ duration_seconds: 900 }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `credentials refused: ${response.status}`);
  demo.credentials = body; // bucket, region, endpoint_url, prefixes: the last answer
  demo.credentialFetches = (demo.credentialFetches || 0) + 1;
  return body;
}

// One S3 client per signed-in user; a new sign-in drops it (demo.s3 = null).
async function s3Client() {
  if (demo.s3 && demo.s3.sub === demo.sub) return demo.s3;
  const [sdk, first] = await Promise.all([import(AWS_SDK), fetchCredentials()]);
  let unused = first; // the first answer is used once; later calls ask the gateway again
  const client = new sdk.S3Client({
    region: first.region,
    endpoint: first.endpoint_url || undefined, // null on AWS: the SDK's regional endpoint
    forcePathStyle: Boolean(first.endpoint_url),
    // Plain PUTs, as the gateway's presigned ones: no SDK-added checksum headers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials: async () => {
      const body = unused || (await fetchCredentials());
      unused = null;
      return {
        accessKeyId: body.access_key_id,
        secretAccessKey: body.secret_access_key,
        sessionToken: body.session_token,
        expiration: new Date(body.expiration),
      };
    },
  });
  demo.s3 = { sub: demo.sub, client, sdk, bucket: first.bucket };
  return demo.s3;
}

// Upload with PutObject, then list the user's own prefix, both straight to S3 with the SDK.
async function putWithCredentials(file, path) {
  const { client, sdk, bucket } = await s3Client();
  await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: path, Body: file, ContentType: file.type }));
  const listed = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: `users/${demo.sub}/` }));
  const items = (listed.Contents || []).map((item) => {
    const li = document.createElement("li");
    li.textContent = `${item.Key} (${item.Size} bytes)`;
    return li;
  });
  document.getElementById("listing").replaceChildren(...items);
}
