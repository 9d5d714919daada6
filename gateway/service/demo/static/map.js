// A plain tile URL template on the edge: the CloudFront cookies authorise it, so the URLs never
// change and the browser cache keeps every tile it has seen.
"use strict";

const map = L.map("map", { minZoom: 0, maxZoom: 5, worldCopyJump: false }).setView([20, 0], 2);
const tiles = L.tileLayer("/tiles/{z}/{x}/{y}.png", {
  maxZoom: 5,
  noWrap: true,
  bounds: [[-85.05, -180], [85.05, 180]],
  attribution: "demo tiles from a private bucket, via signed cookies",
});
tiles.on("tileerror", () => { demo.tileErrors += 1; });
tiles.on("tileload", () => { demo.tilesLoaded += 1; });
tiles.addTo(map);
window.demoMap = map;

document.getElementById("signin").addEventListener("click", async () => {
  try {
    const sub = await signIn(document.getElementById("user").value.trim());
    const body = await grant("tiles/");
    setStatus(`Signed in as ${sub}; cookies valid until ${new Date(body.expires * 1000).toLocaleTimeString()}`);
    demo.tileErrors = 0;
    tiles.redraw(); // once, to replace the tiles refused before sign-in; renewals never redraw
  } catch (error) {
    setStatus(error.message, true);
  }
});
