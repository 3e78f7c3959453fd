"""The live page: each floor's rooms as tiles, coloured by occupied now and the next hour.

Plain HTML and JavaScript served by the API (no build step, no CDN). It asks for an API token
first (kept in the tab's sessionStorage, sent as ``Authorization: Bearer``), then polls every
two seconds: an operator or admin gets ``/buildings/{id}/rooms``, a viewer the aggregates of
``/buildings/{id}/summary`` (each floor's counts, and only the shared rooms as tiles).
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SNUK live</title>
<style>
 body { font-family: sans-serif; margin: 1em; background: #fafafa; }
 h2 { margin: .6em 0 .3em; font-size: 1.1em; }
 .floor { display: flex; flex-wrap: wrap; gap: 6px; }
 .tile { width: 120px; padding: 6px; border-radius: 6px; border: 3px solid #ccc;
         background: #eee; font-size: 12px; }
 .tile.occupied { border-color: #c0392b; }
 .tile.free { border-color: #27ae60; }
 .tile .id { font-weight: bold; font-size: 14px; }
 #status { color: #555; }
 .counts { color: #333; font-size: 13px; margin-bottom: 4px; }
 #login[hidden] { display: none; }
</style></head>
<body>
<h1>SNUK live <small id="building"></small></h1>
<form id="login" hidden>
 <label>API token <input id="token" type="password" autocomplete="off" size="48"></label>
 <button id="sign-in" type="submit">Sign in</button> <span id="login-error"></span>
</form>
<div id="status">connecting…</div>
<div id="floors"></div>
<script>
const KEY = "snuk-token";
function token() { return sessionStorage.getItem(KEY); }
function askForToken(message) {
  sessionStorage.removeItem(KEY);
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("status").textContent = "sign in with an API token";
}
document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  document.getElementById("login").hidden = true;
  role = null;
  refresh();
});
let role = null;
async function api(path) {
  const response = await fetch(path, {headers: {"Authorization": "Bearer " + token()}});
  if (response.status === 401) throw {auth: "token refused"};
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}
function colour(p) {  // next hour's highest probability: white (0) to blue (1)
  if (p === null) return "#eee";
  const c = Math.round(255 - 180 * p);
  return `rgb(${c},${c},255)`;
}
function summaryTiles(summary) {
  // A viewer's page: per floor its counts, tiles only for the shared rooms.
  const root = document.getElementById("floors");
  root.innerHTML = "";
  for (const f of summary.floors) {
    const h = document.createElement("h2"); h.textContent = `Floor ${f.floor}`; root.appendChild(h);
    const counts = document.createElement("div"); counts.className = "counts";
    counts.textContent = f.withheld ? `${f.rooms} rooms (counts withheld: ${f.withheld})`
      : `${f.occupied_rooms} of ${f.rooms_reporting} rooms occupied`;
    root.appendChild(counts);
    const div = document.createElement("div"); div.className = "floor";
    for (const r of f.shared_rooms) {
      const t = document.createElement("div");
      t.className = "tile " + (r.occupied === null ? "" : r.occupied ? "occupied" : "free");
      t.dataset.room = r.room_id;
      t.style.background = colour(r.next_hour_probability);
      t.textContent = `${r.room_id} ${r.name || ""}`;
      div.appendChild(t);
    }
    root.appendChild(div);
  }
  document.getElementById("status").textContent = `latest bin ${summary.bin_start || "–"}`;
  document.getElementById("status").dataset.latest = summary.bin_start || "";
}
async function refresh() {
  if (!token()) {
    if (document.getElementById("login").hidden) askForToken();
    return;
  }
  try {
    if (role === null) role = (await api("whoami")).role;
    const buildings = await api("buildings");
    if (!buildings.length) {
      document.getElementById("status").textContent = "no building";
      return;
    }
    const building = buildings[0];
    document.getElementById("building").textContent = building;
    if (role === "viewer") { summaryTiles(await api(`buildings/${building}/summary`)); return; }
    const rooms = await api(`buildings/${building}/rooms`);
    const floors = {};
    let latest = null;
    for (const r of rooms) {
      (floors[r.floor] = floors[r.floor] || []).push(r);
      if (r.bin_start && (!latest || r.bin_start > latest)) latest = r.bin_start;
    }
    const root = document.getElementById("floors");
    root.innerHTML = "";
    for (const floor of Object.keys(floors).sort()) {
      const h = document.createElement("h2"); h.textContent = `Floor ${floor}`; root.appendChild(h);
      const div = document.createElement("div"); div.className = "floor";
      for (const r of floors[floor]) {
        const p = r.forecast.length ? Math.max(...r.forecast.map(f => f.probability)) : null;
        const t = document.createElement("div");
        t.className = "tile " + (r.occupied === null ? "" : r.occupied ? "occupied" : "free");
        t.dataset.room = r.room_id;
        t.dataset.binStart = r.bin_start || "";
        t.style.background = colour(p);
        t.innerHTML = `<div class="id">${r.room_id}</div><div>${r.name || ""}</div>` +
          `<div>${r.occupied === null ? "no data" : r.occupied ? "occupied" : "free"}</div>` +
          `<div>next hour: ${p === null ? "–" : Math.round(100 * p) + " %"}</div>`;
        div.appendChild(t);
      }
      root.appendChild(div);
    }
    document.getElementById("status").textContent = `latest bin ${latest || "–"}`;
    document.getElementById("status").dataset.latest = latest || "";
  } catch (e) {
    if (e.auth) { askForToken(e.auth); return; }
    document.getElementById("status").textContent = "error: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body></html>
"""
