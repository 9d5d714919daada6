// Thumbnails fetched again every few seconds, never from the browser's cache, into object URLs: a
// grant the edge stops honouring (a revoked share) shows as refused within seconds, no reload.
// Own photos ride on the cookie grant for users/{me}/; everyone else's get signed URLs from
// POST /v1/signed-urls, as the signed-in user or, for the public section, as a guest.
"use strict";

const REFRESH_MS = 2000;
const BATCH = 50; // below the gateway's signing.max_batch
const RENEW_BEFORE = 5; // seconds before a signed URL's expiry
const thumbs = (window.thumbs = { cards: [], ticks: 0, loads: 0, busy: false });

function edgePath(path) {
  return "/" + path.split("/").map(encodeURIComponent).join("/");
}

// via: "cookie" (own photos), "user" (a signed URL for the signed-in user), "guest" (one for nobody).
function addCard(container, path, via, extra) {
  const figure = document.createElement("figure");
  figure.className = "photo";
  Object.assign(figure.dataset, { path, via, state: "loading" });
  const img = new Image();
  img.alt = path;
  const caption = document.createElement("figcaption");
  const state = document.createElement("span");
  state.className = "state";
  caption.append(path.split("/").slice(3).join("/") + " ", state);
  if (extra) caption.append(extra);
  figure.append(img, caption);
  container.append(figure);
  const card = { path, via, figure, img, state, url: via === "cookie" ? edgePath(path) : null, expires: Infinity };
  card.signed = via === "cookie";
  thumbs.cards.push(card);
  return card;
}

function show(card, state, status, text) {
  card.figure.dataset.state = state;
  card.figure.dataset.status = String(status);
  card.state.textContent = text;
}

function clearCards() {
  for (const card of thumbs.cards) {
    if (card.img.src.startsWith("blob:")) URL.revokeObjectURL(card.img.src);
  }
  thumbs.cards = [];
}

async function signUrls(cards, via) {
  for (let start = 0; start < cards.length; start += BATCH) {
    const chunk = cards.slice(start, start + BATCH);
    const headers = { "Content-Type": "application/json" };
    if (via === "user" && demo.token) headers.Authorization = `Bearer ${demo.token}`;
    const response = await fetch("/v1/signed-urls", {
      method: "POST",
      headers,
      body: JSON.stringify({ paths: chunk.map((card) => card.path) }),
    });
    const body = response.ok ? await response.json() : { results: [] };
    chunk.forEach((card, index) => {
      const result = body.results[index] || { error: { status: response.status } };
      card.signed = true;
      card.url = result.url || null;
      card.expires = result.url ? body.expires : Infinity;
      if (!result.url) show(card, "refused", result.error.status, `not granted (${result.error.status})`);
    });
  }
}

async function load(card) {
  let response;
  try {
    response = await fetch(card.url, { cache: "no-store", credentials: "include" });
  } catch (error) {
    return show(card, "error", 0, "unreachable");
  }
  thumbs.loads += 1;
  if (!response.ok) {
    const why = response.status === 403 ? "refused by the edge" : "failed";
    return show(card, response.status === 403 ? "refused" : "error", response.status, `${why} (${response.status})`);
  }
  const old = card.img.src;
  card.img.src = URL.createObjectURL(await response.blob());
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  show(card, "ok", response.status, "");
}

async function tick() {
  if (thumbs.busy) return;
  thumbs.busy = true;
  try {
    const now = Date.now() / 1000;
    for (const via of ["user", "guest"]) {
      const due = thumbs.cards.filter((c) => c.via === via && (!c.signed || (c.url && now >= c.expires - RENEW_BEFORE)));
      if (due.length) await signUrls(due, via);
    }
    await Promise.all(thumbs.cards.filter((card) => card.url).map(load));
    thumbs.ticks += 1;
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    thumbs.busy = false;
  }
}

setInterval(tick, REFRESH_MS);
