// The photo gallery: albums under users/{me}/albums/, each photo or album private (no share),
// friends (a share with the group "friends") or public (a share with anyone), albums shared with
// named users, what others shared with me, my shares with a revoke button, and the public photos.
"use strict";

const FRIENDS = { group: "friends" };
const LEVELS = ["private", "friends", "public"]; // narrowest first
const gallery = (window.gallery = { myShares: [], sharedWithMe: [], renders: 0 });
const $ = (id) => document.getElementById(id);

async function api(method, url, body, asGuest) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  if (demo.token && !asGuest) headers.Authorization = `Bearer ${demo.token}`;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : {};
  if (!response.ok) throw new Error(answer.detail || `${method} ${url}: ${response.status}`);
  return answer;
}

async function listPhotos(prefix, asGuest) {
  const body = await api("GET", `/demo/photos?prefix=${encodeURIComponent(prefix)}`, undefined, asGuest);
  return body.photos.map((photo) => photo.path);
}

async function allShares(query) {
  const shares = [];
  let cursor = null;
  do {
    const params = new URLSearchParams(query);
    if (cursor) params.set("cursor", cursor);
    const page = await api("GET", `/v1/shares?${params}`);
    shares.push(...page.shares);
    cursor = page.next_cursor || null;
  } while (cursor);
  return shares;
}

const targetOf = (share) => share.prefix || share.path;
const kindOf = (share) => (share.prefix ? "prefix" : "path");
const describe = (w) => (w.anyone ? "anyone" : w.group ? `group ${w.group}` : `user ${w.user}`);

function levelOf(target) {
  const shares = gallery.myShares.filter((share) => targetOf(share) === target);
  if (shares.some((share) => share.with.anyone)) return "public";
  if (shares.some((share) => share.with.group === FRIENDS.group)) return "friends";
  return "private";
}

async function setLevel(kind, target, level) {
  const widening = gallery.myShares.filter(
    (share) => targetOf(share) === target && (share.with.anyone || share.with.group === FRIENDS.group),
  );
  for (const share of widening) await api("DELETE", `/v1/shares/${encodeURIComponent(share.id)}`);
  if (level !== "private") {
    await api("POST", "/v1/shares", { [kind]: target, with: level === "public" ? { anyone: true } : FRIENDS });
  }
  setStatus(`${target} is now ${level}`);
  await render();
}

function levelSelect(kind, target) {
  const select = document.createElement("select");
  select.className = "visibility";
  select.dataset.target = target;
  for (const level of LEVELS) select.add(new Option(level, level));
  select.value = levelOf(target);
  select.addEventListener("change", () => setLevel(kind, target, select.value).catch((e) => setStatus(e.message, true)));
  return select;
}

function shareWithUser(album) {
  const span = document.createElement("span");
  const input = Object.assign(document.createElement("input"), { placeholder: "user", className: "share-user" });
  const button = Object.assign(document.createElement("button"), { textContent: "Share album", className: "share" });
  button.addEventListener("click", async () => {
    try {
      await api("POST", "/v1/shares", { prefix: album, with: { user: input.value.trim() } });
      setStatus(`${album} shared with ${input.value.trim()}`);
      await render();
    } catch (error) {
      setStatus(error.message, true);
    }
  });
  span.append(input, button);
  return span;
}

async function renderMine() {
  gallery.myShares = await allShares({});
  const root = `users/${demo.sub}/albums/`;
  const albums = new Map();
  for (const path of await listPhotos(root)) {
    const album = path.split("/")[3];
    if (!albums.has(album)) albums.set(album, []);
    albums.get(album).push(path);
  }
  const container = $("albums");
  container.replaceChildren();
  for (const [name, paths] of albums) {
    const prefix = `${root}${name}/`;
    const section = Object.assign(document.createElement("div"), { className: "album" });
    section.dataset.prefix = prefix;
    const title = document.createElement("h3");
    const users = gallery.myShares.filter((s) => s.prefix === prefix && s.with.user).map((s) => s.with.user);
    const sharedWith = users.length ? ` shared with ${users.join(", ")}` : "";
    title.append(name, levelSelect("prefix", prefix), shareWithUser(prefix), sharedWith);
    const grid = Object.assign(document.createElement("div"), { className: "grid" });
    section.append(title, grid);
    container.append(section);
    const albumLevel = levelOf(prefix);
    for (const path of paths) {
      const controls = document.createElement("span");
      controls.append(levelSelect("path", path));
      if (LEVELS.indexOf(albumLevel) > LEVELS.indexOf(levelOf(path))) {
        controls.append(Object.assign(document.createElement("small"), { textContent: ` ${albumLevel} with its album` }));
      }
      addCard(grid, path, "cookie", controls);
    }
  }
  const rows = gallery.myShares.map((share) => {
    const row = document.createElement("tr");
    row.dataset.id = share.id;
    const expires = share.expires ? new Date(share.expires * 1000).toLocaleString() : "never";
    for (const text of [targetOf(share), describe(share.with), expires]) row.insertCell().textContent = text;
    const revoke = Object.assign(document.createElement("button"), { textContent: "Revoke", className: "revoke" });
    revoke.addEventListener("click", async () => {
      try {
        await api("DELETE", `/v1/shares/${encodeURIComponent(share.id)}`);
        setStatus(`revoked the share of ${targetOf(share)} with ${describe(share.with)}`);
        await render();
      } catch (error) {
        setStatus(error.message, true);
      }
    });
    row.insertCell().append(revoke);
    return row;
  });
  $("share-rows").replaceChildren(...rows);
}

async function renderShared() {
  const mine = `users/${demo.sub}/`;
  gallery.sharedWithMe = (await allShares({ with: "me" })).filter((share) => !targetOf(share).startsWith(mine));
  const paths = new Set();
  const items = [];
  for (const share of gallery.sharedWithMe) {
    const target = targetOf(share);
    const item = document.createElement("li");
    item.dataset.id = share.id;
    item.textContent = `${target.split("/")[1]} shares ${kindOf(share) === "prefix" ? "album" : "photo"} ${target} with ${describe(share.with)}`;
    items.push(item);
    for (const path of share.prefix ? await listPhotos(target) : [target]) paths.add(path);
  }
  $("shared-list").replaceChildren(...items);
  const grid = $("shared-photos");
  grid.replaceChildren();
  for (const path of paths) addCard(grid, path, "user");
}

async function renderPublic() {
  const grid = $("public-photos");
  grid.replaceChildren();
  for (const path of await listPhotos("users/", true)) addCard(grid, path, "guest");
}

async function render() {
  clearCards();
  const signedIn = Boolean(demo.token);
  for (const id of ["mine", "shared", "my-shares"]) $(id).hidden = !signedIn;
  if (signedIn) await Promise.all([renderMine(), renderShared()]);
  await renderPublic();
  gallery.renders += 1;
  tick();
}

async function signOut() {
  if (demo.sub) {
    const prefix = `users/${demo.sub}/`;
    clearTimeout((grant.timers || {})[prefix]);
    await fetch(`/v1/cookies?prefix=${encodeURIComponent(prefix)}`, { method: "DELETE" });
  }
  Object.assign(demo, { token: null, sub: null, groups: [], grants: {} });
  $("signout").disabled = true;
}

function safeName(name) {
  const cleaned = name.normalize("NFC").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "");
  return cleaned || "upload";
}

async function upload(file, album) {
  const path = `users/${demo.sub}/albums/${album}/${Date.now()}-${safeName(file.name)}`;
  const answer = await api("POST", "/v1/uploads", {
    path,
    content_type: file.type,
    content_length: file.size,
    method: "POST",
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(answer.fields)) form.append(name, value);
  form.append("file", file); // the file must be the last field of an S3 POST
  const stored = await fetch(answer.url, { method: "POST", body: form });
  if (!stored.ok) throw new Error(`S3 refused the upload: ${stored.status}`);
  return path;
}

$("signin").addEventListener("click", async () => {
  try {
    await signOut(); // switching user: the last one's cookies must not show their photos
    const groups = $("groups").value.split(",").map((g) => g.trim()).filter(Boolean);
    const sub = await signIn($("user").value.trim(), groups);
    await grant(`users/${sub}/`);
    $("signout").disabled = false;
    setStatus(`Signed in as ${sub}${demo.groups.length ? ` (groups ${demo.groups.join(", ")})` : ""}`);
    await render();
  } catch (error) {
    setStatus(error.message, true);
  }
});

$("signout").addEventListener("click", async () => {
  await signOut();
  setStatus("Signed out: only public photos show.");
  await render().catch((error) => setStatus(error.message, true));
});

$("reload").addEventListener("click", () => render().catch((error) => setStatus(error.message, true)));

$("upload").addEventListener("click", async () => {
  const files = [...$("file").files];
  if (!demo.token || !files.length) return setStatus("Sign in and pick a file first", true);
  try {
    const album = safeName($("album").value.trim());
    for (const file of files) await upload(file, album);
    setStatus(`Uploaded ${files.length} photo(s) to album ${album}`);
    await render();
  } catch (error) {
    setStatus(error.message, true);
  }
});

render().catch((error) => setStatus(error.message, true));
