// The work-list page: signs in with staff client credentials (POST /auth/token) and uses the staff API (/um/...)
// with the bearer token, exactly as any other client does. No build step.
(() => {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("um-token");
  let claims = token ? decode(token) : null;
  let current = null;
  let cases = [];

  function decode(jwt) {
    return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) { signOut(); throw new Error("signed out: the session expired"); }
    const data = await response.json();
    if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
    return data;
  }

  async function signIn() {
    $("login-error").textContent = "";
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: $("client-id").value,
                                       client_secret: $("client-secret").value, scope: "um/review" });
    const response = await fetch("/auth/token", { method: "POST", body: form });
    const data = await response.json();
    if (!response.ok) { $("login-error").textContent = data.error_description || "sign-in refused"; return; }
    token = data.access_token;
    sessionStorage.setItem("um-token", token);
    claims = decode(token);
    show();
  }

  function signOut() {
    token = null; claims = null; current = null;
    sessionStorage.removeItem("um-token");
    $("app").hidden = true; $("login").hidden = false; $("case").hidden = true; $("who").textContent = "";
  }

  function show() {
    $("login").hidden = true; $("app").hidden = false;
    $("who").textContent = `${claims.reviewer || claims.sub} (${claims.role.replace("_", " ")})`;
    $("deny-box").hidden = claims.role !== "medical_director";
    loadWorklist();
  }

  function due(seconds) {
    const sign = seconds < 0 ? "-" : "";
    const s = Math.abs(seconds);
    return `${sign}${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }

  async function loadWorklist() {
    const data = await api("GET", "/um/worklist");
    const c = data.counts;
    $("counts").textContent = `${c.total} open: ${c.expedited} expedited, ${c.standard} standard, ${c.overdue} overdue, ${c.near_breach} near breach`;
    cases = data.cases.sort((a, b) => (a.priority === "expedited" ? 0 : 1) - (b.priority === "expedited" ? 0 : 1) || a.seconds_to_due - b.seconds_to_due);
    cases.forEach((c) => { c.loadedAt = Date.now(); });
    renderWorklist();
  }

  function renderWorklist() {
    const rows = cases.map((c) => {
      const left = c.seconds_to_due - Math.floor((Date.now() - c.loadedAt) / 1000);
      const cls = left < 0 ? "overdue" : c.near_breach ? "near" : "";
      return `<tr class="case" data-id="${c.id}"><td class="${cls}">${due(left)}</td>
        <td class="${c.priority === "expedited" ? "expedited" : ""}">${c.preauth_ref}<div class="muted">${c.priority}${c.review_type && c.review_type !== "prospective" ? `, ${c.review_type}` : ""}</div></td>
        <td>${c.queue || ""}</td><td>${c.status}</td><td>${c.assignee || ""}</td></tr>`;
    });
    $("worklist").innerHTML = rows.join("");
    document.querySelectorAll("tr.case").forEach((row) => row.addEventListener("click", () => openCase(row.dataset.id)));
  }

  function escape(text) {
    return String(text ?? "").replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[ch]));
  }

  async function openDocument(url) {
    // The token rides in a header, so the document is fetched here and shown from a blob URL.
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) { $("action-error").textContent = `The document could not be opened (${response.status}).`; return; }
    window.open(URL.createObjectURL(await response.blob()), "_blank");
  }

  async function openCase(id) {
    $("action-error").textContent = "";
    const [found, request, history, documents, notices] = await Promise.all([
      api("GET", `/um/cases/${id}`), api("GET", `/um/cases/${id}/request`), api("GET", `/um/cases/${id}/history`),
      api("GET", `/um/cases/${id}/attachments`), api("GET", `/um/cases/${id}/notices`)]);
    current = found;
    $("case").hidden = false;
    $("case-ref").textContent = found.preauth_ref;
    $("case-status").textContent = found.status;
    $("case-due").textContent = `${found.priority} ${found.review_type} review, due ${found.due_at}; queue ${found.queue || "-"}; held by ${found.assignee || "nobody"}`;
    const p = request.patient;
    $("case-request").innerHTML = `<p><strong>${escape(p.name)}</strong> (${escape(p.gender)}, born ${escape(p.birth_date)}), member ${escape(p.member_ids.join(", "))}<br>
      Coverage: ${escape(request.coverage.payer)} ${escape(found.line_of_business || request.coverage.line_of_business || "")} (${escape(request.coverage.status)}); requested by ${escape(request.provider)}<br>
      Diagnoses: ${escape(request.diagnoses.join(", ") || "none")}<br>
      Attachments: ${escape(request.attachments.map((a) => (a.type || []).join(" ") || a.text || a.category.join(" ")).join("; ") || "none")}</p>
      ${(request.answers || []).map((form) => `<div class="answers"><strong>Form answers</strong> <span class="muted">${escape(form.status)}</span>
        <dl>${form.items.map((i) => `<dt>${escape(i.question)}</dt><dd>${escape(i.answer)}</dd>`).join("")}</dl></div>`).join("")}
      <div class="documents"><strong>Documents received</strong> ${documents.length ? "" : '<span class="muted">none</span>'}
        <ul>${documents.map((d) => `<li>${escape(d.code ? `LOINC ${d.code}` : d.resource_type)} for item(s) ${escape(d.line_items.join(", ") || "all")},
          ${escape(d.content_type || d.resource_type)}, ${d.size} bytes, ${escape(d.received_at)}
          <button type="button" class="open-document" data-url="${escape(d.download)}">Open</button></li>`).join("")}</ul></div>
      ${stay(found.stay)}
      <div class="notices"><strong>Notices</strong> ${notices.length ? "" : '<span class="muted">none issued</span>'}
        <ul>${notices.map((n) => `<li>${escape(n.kind)} notice to the ${escape(n.audience)}, item(s) ${escape(n.items.join(", "))}, ${escape(n.issued_at)}; appeal by ${escape(n.appeal_by)}
          <button type="button" class="open-document" data-url="${escape(n.pdf)}">PDF</button></li>`).join("")}</ul></div>`;
    document.querySelectorAll(".open-document").forEach((button) => button.addEventListener("click", () => openDocument(button.dataset.url)));
    $("case-items").innerHTML = found.items.map((i) => `<tr><td>${i.sequence}</td><td>${escape(i.service.code)}</td>
      <td class="review-action">${i.review_action}${i.decision_kind ? `<div class="muted">${escape(i.decision_kind)}</div>` : ""}</td><td>${escape(i.rule_id || i.decided_by || "")}<div class="muted">${escape(i.reason || "")}</div></td></tr>`).join("");
    $("case-trace").textContent = JSON.stringify(found.items.map((i) => ({ item: i.sequence, trace: i.trace })), null, 1);
    $("case-history").innerHTML = history.map((h) => `<tr><td class="muted">${h.at}</td><td>${escape(h.actor)} (${escape(h.role)})</td><td>${escape(h.action)}</td><td>${escape(h.reason)}</td></tr>`).join("");
  }

  function stay(s) {
    if (!s) return "";
    const days = (n) => (n === null || n === undefined ? "-" : `${n}`);
    return `<div class="stay"><strong>Inpatient stay</strong> admitted ${escape(s.admitted_on)}${s.discharged_on ? `, discharged ${escape(s.discharged_on)}` : ""}.
      Days requested ${days(s.days_requested)}, authorized ${days(s.days_authorized)}, used ${days(s.days_used)}.
      ${s.next_review_on ? `Next review <strong>${escape(s.next_review_on)}</strong>.` : ""}</div>`;
  }

  function pended() {
    return current.items.filter((i) => i.review_action === "A4").map((i) => i.sequence);
  }

  async function act(path, body) {
    $("action-error").textContent = "";
    try {
      await api("POST", `/um/cases/${current.id}/${path}`, body);
      await openCase(current.id);
      await loadWorklist();
    } catch (error) {
      $("action-error").textContent = error.message;
    }
  }

  $("sign-in").addEventListener("click", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("refresh").addEventListener("click", loadWorklist);
  $("take").addEventListener("click", () => act("take"));
  $("approve").addEventListener("click", () => act("approve", { items: pended().map((s) => ({ sequence: s })) }));
  $("request-info").addEventListener("click", () => act("request-info", {
    items: pended(), documents: [{ loinc: $("doc-loinc").value, description: $("doc-description").value }] }));
  $("escalate").addEventListener("click", () => act("escalate", { note: $("escalate-note").value }));
  $("deny").addEventListener("click", () => act("deny", { items: pended(), reason_code: $("deny-code").value, reason_text: $("deny-text").value }));
  setInterval(() => { if (cases.length) renderWorklist(); }, 30000);
  if (claims && claims.exp * 1000 > Date.now()) show(); else signOut();
})();
