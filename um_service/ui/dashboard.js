// The UM lead's dashboard: uses the work list's sign-in (the token app.js keeps in sessionStorage "um-token"),
// fetches /um/dashboard/charts and shows the cards, the server-drawn SVG charts and each chart's numbers. No build step.
(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "um-token";
  const PERIODS = ["7", "30", "90"];

  function decode(jwt) {
    return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  }

  function signedOut(message) {
    $("content").hidden = true;
    $("signed-out").hidden = false;
    $("who").textContent = "";
    $("status").textContent = message;
  }

  function percent(share) {
    return share === null || share === undefined ? "-" : `${Math.round(share * 1000) / 10}%`;
  }

  function cell(row, value, header) {
    const td = document.createElement(header ? "th" : "td");
    if (header) td.scope = "row";
    td.textContent = value === null || value === undefined ? "-" : String(value);
    if (!header && (typeof value === "number" || /^[\d.]+%$|^-$/.test(value))) td.className = "number";
    row.appendChild(td);
  }

  function numeric(chart, column) {
    return chart.table.rows.some((row) => typeof row[column] === "number");
  }

  function table(chart) {
    const wrap = document.createElement("div");
    wrap.className = "numbers";
    wrap.tabIndex = 0; // scrollable by keyboard
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", `${chart.title}: the numbers`);
    const t = document.createElement("table");
    const caption = t.createCaption();
    caption.textContent = `The numbers in “${chart.title}”`;
    const head = t.createTHead().insertRow();
    chart.table.columns.forEach((name, i) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      if (i > 0 && numeric(chart, i)) th.className = "number";
      head.appendChild(th);
    });
    const body = t.createTBody();
    chart.table.rows.forEach((values) => {
      const row = body.insertRow();
      values.forEach((value, i) => cell(row, value, i === 0));
    });
    wrap.appendChild(t);
    return wrap;
  }

  function render(data) {
    const p = data.period;
    $("period").textContent = `${p.dates[0]} to ${p.dates[p.dates.length - 1]} (${p.days} days, UTC); open cases as of now`;
    $("card-open").textContent = data.open.open;
    $("card-overdue").textContent = data.open.overdue;
    $("card-near").textContent = data.open.near_breach;
    $("overdue").className = data.open.overdue > 0 ? "alert" : ""; // colour only what needs attention
    $("near").className = data.open.near_breach > 0 ? "warn" : "";
    const a = data.automation;
    $("card-automation").innerHTML = "";
    $("card-automation").append(percent(a.rate));
    const small = document.createElement("small");
    small.textContent = `${a.automated} of ${a.decided} items decided`;
    $("card-automation").appendChild(small);
    const charts = $("charts");
    charts.innerHTML = "";
    data.charts.forEach((chart) => {
      const section = document.createElement("section");
      section.className = "panel";
      section.id = `chart-${chart.id}`;
      const h2 = document.createElement("h2");
      h2.id = `chart-${chart.id}-heading`;
      h2.textContent = chart.title;
      section.setAttribute("aria-labelledby", h2.id);
      const figure = document.createElement("div");
      figure.className = "figure";
      figure.innerHTML = chart.svg; // drawn by the server, every text XML-escaped
      section.append(h2, figure, table(chart));
      charts.appendChild(section);
    });
    $("content").hidden = false;
  }

  async function load() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) { signedOut("You are not signed in."); return; }
    const claims = decode(token);
    $("who").textContent = `${claims.reviewer || claims.sub} (${claims.role.replace("_", " ")})`;
    const days = $("days").value;
    history.replaceState(null, "", `?days=${days}`);
    $("status").textContent = "Loading…";
    const response = await fetch(`/um/dashboard/charts?days=${days}`, { headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      signedOut("Your session has expired.");
      return;
    }
    if (!response.ok) {
      $("status").textContent = `The dashboard could not be loaded (HTTP ${response.status}).`;
      $("status").className = "error";
      return;
    }
    render(await response.json());
    $("status").className = "muted";
    $("status").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  }

  const asked = new URLSearchParams(location.search).get("days");
  if (PERIODS.includes(asked)) $("days").value = asked;
  function reload() {
    load().catch((error) => {
      $("status").className = "error";
      $("status").textContent = `The dashboard could not be loaded: ${error.message}`;
    });
  }
  $("days").addEventListener("change", reload);
  $("refresh").addEventListener("click", reload);
  reload();
})();
