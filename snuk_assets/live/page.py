"""The live page: each floor's rooms as tiles, coloured by occupied now and the next hour.

Plain HTML and JavaScript served by the API (no build step, no CDN): it polls
``/buildings/{id}/rooms`` every two seconds and redraws.
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
</style></head>
<body>
<h1>SNUK live <small id="building"></small></h1>
<div id="status">connecting…</div>
<div id="floors"></div>
<script>
function colour(p) {  // next hour's highest probability: white (0) to blue (1)
  if (p === null) return "#eee";
  const c = Math.round(255 - 180 * p);
  return `rgb(${c},${c},255)`;
}
async function refresh() {
  try {
    const buildings = await (await fetch("buildings")).json();
    if (!buildings.length) {
      document.getElementById("status").textContent = "no building";
      return;
    }
    const building = buildings[0];
    document.getElementById("building").textContent = building;
    const rooms = await (await fetch(`buildings/${building}/rooms`)).json();
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
    document.getElementById("status").textContent = "error: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body></html>
"""
