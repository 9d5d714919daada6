// Demo sign-in and CloudFront cookie grants, renewed at refresh_after without touching any URL.
"use strict";

const demo = (window.demo = { token: null, sub: null, grants: {}, renewals: 0, tileErrors: 0, tilesLoaded: 0 });

function setStatus(text, isError) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function signIn(sub, groups) {
  const response = await fetch("/demo/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(groups && groups.length ? { sub, groups } : { sub }),
  });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status}`);
  const body = await response.json();
  demo.token = body.token;
  demo.sub = body.sub;
  demo.groups = body.groups || [];
  return body.sub;
}

// Ask the gateway for cookies covering `prefix`.  It answers with the broadest prefix at or above
// it that we may read (`body.prefix`: asking for "tiles/3/" after "tiles/" gives "tiles/" again),
// so grants never nest; the browser stores the cookies under that Path and sends them with every
// request below it.  Renew in the next window, with jitter so clients spread out.
async function grant(prefix) {
  const headers = { "Content-Type": "application/json" };
  if (demo.token) headers.Authorization = `Bearer ${demo.token}`; // else as a guest
  const response = await fetch("/v1/cookies", { method: "POST", headers, body: JSON.stringify({ prefix }) });
  if (!response.ok) throw new Error(`cookie grant for ${prefix} failed: ${response.status}`);
  const body = await response.json();
  const granted = body.prefix;
  demo.grants[granted] = body;
  const jitter = Math.random() * 1000;
  const wait = Math.max(1000, body.refresh_after * 1000 - Date.now() + jitter);
  grant.timers = grant.timers || {};
  clearTimeout(grant.timers[granted]);
  grant.timers[granted] = setTimeout(() => {
    demo.renewals += 1;
    grant(granted).catch((error) => setStatus(error.message, true));
  }, wait);
  return body;
}
