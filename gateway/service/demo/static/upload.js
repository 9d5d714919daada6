"use strict";

const uploadButton = document.getElementById("upload");

document.getElementById("signin").addEventListener("click", async () => {
  try {
    const sub = await signIn(document.getElementById("user").value.trim());
    await grant(`users/${sub}/`);
    uploadButton.disabled = false;
    setStatus(`Signed in as ${sub}`);
  } catch (error) {
    setStatus(error.message, true);
  }
});

// Object keys must be safe path segments: keep letters, digits, dot, dash and underscore.
function safeName(name) {
  const cleaned = name.normalize("NFC").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "");
  return cleaned || "upload";
}

async function postForm(file, path) {
  const response = await fetch("/v1/uploads", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${demo.token}` },
    body: JSON.stringify({ path, content_type: file.type, content_length: file.size, method: "POST" }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.detail || `upload refused: ${response.status}`);
  const form = new FormData();
  for (const [name, value] of Object.entries(answer.fields)) form.append(name, value);
  form.append("file", file); // the file must be the last field of an S3 POST
  const stored = await fetch(answer.url, { method: "POST", body: form });
  if (!stored.ok) throw new Error(`S3 refused the upload: ${stored.status}`);
}

uploadButton.addEventListener("click", async () => {
  const file = document.getElementById("file").files[0];
  if (!file) return setStatus("Pick a file first", true);
  const path = `users/${demo.sub}/${Date.now()}-${safeName(file.name)}`;
  try {
    if (document.getElementById("use-credentials").checked) {
      await putWithCredentials(file, path); // credentials.js
    } else {
      await postForm(file, path);
    }
    const image = new Image();
    image.alt = path;
    image.id = "uploaded";
    image.src = `/${path.split("/").map(encodeURIComponent).join("/")}`;
    image.onload = () => setStatus(`Uploaded ${path} and read it back through the edge`);
    image.onerror = () => setStatus(`Uploaded, but the edge refused ${path}`, true);
    document.getElementById("preview").replaceChildren(image);
  } catch (error) {
    setStatus(error.message, true);
  }
});
