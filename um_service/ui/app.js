// The work-list page: signs in with staff client credentials (POST /auth/token) and uses the staff API (/um/...)
// with the bearer token, exactly as any other client does. No build step.
(() => {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("um-token");
  let claims = token ? decode(token) : null;
  let current = null;
  let cases = [];
  let reasons = [];

  const STATES = {
    received: "received", approved: "approved", not_required: "no authorization needed", pended: "waiting for a nurse",
    in_review: "in nurse review", info_requested: "waiting for documents", escalated: "waiting for a medical director",
    in_md_review: "in medical director review", p2p_scheduled: "peer-to-peer booked", decided: "decided", cancelled: "cancelled",
  };
  const RESULTS = {
    A1: "Approved", A2: "Partly approved", A3: "Denied", A4: "Pended for review", A6: "Approved with changes",
    NA: "No authorization needed", C: "Cancelled", CT: "Contact the payer",
  };
  const words = (state) => STATES[state] || String(state || "").replace(/_/g, " ");

  function decode(jwt) {
    return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  }

  function escape(text) {
    return String(text ?? "").replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch]));
  }

  const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  function local(iso) { return iso ? when.format(new Date(iso)) : "-"; }

  const FIELDS = {
    reason_code: "A denial reason", reason_text: "The specific reason", note: "A note", contact: "The provider contact",
    join: "How to join", slot_id: "A peer-to-peer slot", reason: "A reason", days: "The number of days",
  };

  function plain(data) {
    // The API's problem details, in words a reviewer reads: no JSON, no field paths, no internal state names.
    const problems = (data.problems || []).filter((p) => p.where);
    const text = problems.length
      ? problems.map((p) => (/at least 1 character|required/i.test(p.detail) ? `${FIELDS[p.where.split(".").pop()] || p.where} is needed.` : `${FIELDS[p.where.split(".").pop()] || p.where}: ${p.detail}`)).join(" ")
      : String(data.detail || "The request was refused.");
    return text.replace(/\b(in_md_review|in_review|info_requested|p2p_scheduled|not_required)\b/g, (s) => words(s));
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) { signOut(); throw new Error("You were signed out: the session expired. Sign in again."); }
    const data = await response.json();
    if (!response.ok) throw new Error(plain(data));
    return data;
  }

  async function signIn(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: $("client-id").value,
                                       client_secret: $("client-secret").value, scope: "um/review" });
    const response = await fetch("/auth/token", { method: "POST", body: form });
    const data = await response.json();
    if (!response.ok) {
      $("login-error").textContent = data.error === "invalid_scope"
        ? "This page is for UM staff. Provider and portal clients use the FHIR API, not the work list."
        : data.error === "invalid_client" ? "The client id or secret is not right." : (data.error_description || "Sign-in refused.");
      return;
    }
    token = data.access_token;
    sessionStorage.setItem("um-token", token);
    claims = decode(token);
    show();
  }

  function signOut() {
    token = null; claims = null; current = null;
    sessionStorage.removeItem("um-token");
    for (const id of ["worklist-panel", "case", "nav", "sign-out"]) $(id).hidden = true;
    $("login").hidden = false; $("who").textContent = "";
  }

  async function show() {
    $("login").hidden = true; $("worklist-panel").hidden = false; $("nav").hidden = false; $("sign-out").hidden = false;
    $("who").textContent = `${claims.reviewer || claims.sub} (${claims.role.replace("_", " ")})`;
    $("mine").disabled = !claims.reviewer;
    const status = $("status");
    if (status.options.length === 1) {
      for (const [value, label] of Object.entries(STATES)) status.add(new Option(label, value));
      try { (await api("GET", "/um/queues")).forEach((q) => $("queue").add(new Option(q.name, q.name))); } catch (error) { /* staff without the queue list */ }
      try { reasons = await api("GET", "/um/reasons"); } catch (error) { reasons = []; }
    }
    await loadWorklist();
  }

  function countdown(seconds) {
    const s = Math.abs(seconds);
    const text = s >= 86400 ? `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return seconds < 0 ? `${text} overdue` : `in ${text}`;
  }

  async function loadWorklist(event) {
    if (event) event.preventDefault();
    const params = new URLSearchParams({ scope: $("scope").value, sort: $("sort").value });
    const add = (key, value) => { if (value) params.set(key, value); };
    add("q", $("search").value.trim()); add("queue", $("queue").value); add("status", $("status").value);
    add("review_type", $("review-type").value);
    if ($("mine").checked && claims.reviewer) params.set("assignee", claims.reviewer);
    if ($("overdue").checked) params.set("overdue", "true");
    try {
      const data = await api("GET", `/um/worklist?${params}`);
      const c = data.counts;
      $("counts").textContent = `${c.total} case(s): ${c.expedited} expedited, ${c.standard} standard, ${c.overdue} overdue, ${c.near_breach} near breach.`;
      cases = data.cases;
      cases.forEach((row) => { row.loadedAt = Date.now(); });
      renderWorklist();
      renderStays(data.stays || []);
    } catch (error) {
      $("counts").textContent = error.message;
    }
  }

  function holder(row) {
    if (!row.assignee) return '<span class="muted">nobody yet</span>';
    const offered = row.status === "pended" || row.status === "escalated";
    return offered ? `offered to ${escape(row.assignee)}` : escape(row.assignee);
  }

  function renderWorklist() {
    $("worklist").innerHTML = cases.map((row) => {
      const open = !["approved", "not_required", "decided", "cancelled"].includes(row.status);
      const left = row.seconds_to_due - Math.floor((Date.now() - row.loadedAt) / 1000);
      const cls = open && left < 0 ? "overdue" : open && row.near_breach ? "near" : "";
      const due = open ? `<span class="${cls}">${countdown(left)}</span><div class="muted">${local(row.due_at)}</div>`
                       : `<span class="muted">decided ${local(row.decided_at)}</span>`;
      const type = row.review_type !== "prospective" ? `, ${row.review_type}` : "";
      return `<tr class="case"><td>${due}</td>
        <td><button type="button" class="open" data-id="${escape(row.id)}">${escape(row.preauth_ref)}</button>
          <div class="${row.priority === "expedited" ? "expedited" : "muted"}">${escape(row.priority)}${escape(type)}</div></td>
        <td>${escape(row.patient_name || "-")}<div class="muted">member ${escape(row.member_id || "-")}</div></td>
        <td>${(row.services || []).map((s) => `${escape(s.code)}${s.display ? ` <span class="muted">${escape(s.display)}</span>` : ""}`).join("<br>")}<div class="muted">${row.service_from ? `from ${escape(row.service_from)}` : ""}</div></td>
        <td>${escape(row.provider_name || "-")}</td>
        <td>${escape(words(row.status))}<div class="muted">${escape(row.queue || "")}</div></td>
        <td>${holder(row)}</td></tr>`;
    }).join("") || '<tr><td colspan="7" class="muted">No cases match.</td></tr>';
    document.querySelectorAll("#worklist button.open").forEach((b) => b.addEventListener("click", () => openCase(b.dataset.id)));
  }

  function renderStays(stays) {
    $("stays-box").hidden = stays.length === 0;
    $("stays").innerHTML = stays.map((s) => `<tr><td>${escape(s.next_review_on)}</td>
      <td><button type="button" class="open" data-id="${escape(s.id)}">${escape(s.preauth_ref)}</button></td>
      <td>${escape(s.patient_name || "-")}</td><td>${escape(s.admitted_on)}</td>
      <td>${s.days_requested ?? "open"} / ${s.days_authorized ?? "-"}</td><td>${escape(words(s.status))}</td></tr>`).join("");
    document.querySelectorAll("#stays button.open").forEach((b) => b.addEventListener("click", () => openCase(b.dataset.id)));
  }

  async function openDocument(url, label) {
    // The token rides in a header, so the document is fetched here and shown in the page from a blob URL.
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) { $("viewer").innerHTML = `<p class="error">The document could not be opened (${response.status}).</p>`; return; }
    const blob = await response.blob();
    const type = blob.type || "";
    const title = `<p><strong>${escape(label)}</strong> <button type="button" id="close-viewer">Close</button></p>`;
    if (type.includes("pdf") || type.startsWith("image/")) {
      $("viewer").innerHTML = `${title}<iframe title="${escape(label)}" src="${URL.createObjectURL(blob)}"></iframe>`;
    } else if (type.includes("html")) {
      $("viewer").innerHTML = `${title}<iframe title="${escape(label)}" sandbox="" src="${URL.createObjectURL(blob)}"></iframe>`;
    } else {
      $("viewer").innerHTML = `${title}<pre>${escape(await blob.text())}</pre>`;
    }
    $("close-viewer").addEventListener("click", () => { $("viewer").innerHTML = ""; });
  }

  function summary(found, request) {
    const p = request.patient;
    const diagnoses = (request.diagnosis_codes || []).length
      ? request.diagnosis_codes.map((d) => `${escape(d.code)}${d.display ? ` ${escape(d.display)}` : ""}`).join("<br>")
      : escape((request.diagnoses || []).map((d) => d.split("|").pop()).join(", ") || "none");
    return `<div class="card"><strong>Patient</strong><dl>
        <dt>Name</dt><dd>${escape(p.name)}</dd><dt>Born</dt><dd>${escape(p.birth_date)} (${escape(p.gender)})</dd>
        <dt>Member</dt><dd>${escape(p.member_ids.join(", "))}</dd></dl></div>
      <div class="card"><strong>Coverage</strong><dl>
        <dt>Payer</dt><dd>${escape(request.coverage.payer)}</dd>
        <dt>Line of business</dt><dd>${escape(found.line_of_business || request.coverage.line_of_business || "-")}</dd>
        <dt>Status</dt><dd>${escape(request.coverage.status)}</dd></dl></div>
      <div class="card"><strong>Request</strong><dl>
        <dt>Provider</dt><dd>${escape(request.provider)}</dd><dt>Received</dt><dd>${local(found.received_at)}</dd>
        <dt>Diagnoses</dt><dd>${diagnoses}</dd></dl></div>`;
  }

  function serviceCell(item, requested) {
    const display = item.service.display || (requested && requested.display) || "";
    return `${escape(item.service.code)}${display ? `<div>${escape(display)}</div>` : ""}`;
  }

  function datesCell(requested) {
    if (!requested) return "-";
    const serviced = requested.serviced;
    const dates = typeof serviced === "string" ? serviced : serviced ? `${serviced.start || "?"} to ${serviced.end || "?"}` : "";
    return `${requested.quantity != null ? `${escape(requested.quantity)} unit(s)` : ""}<div class="muted">${escape(dates)}</div>`;
  }

  function resultCell(item) {
    const by = item.decided_by === "automation" ? "by the rules" : item.decided_by === "intake" ? "at intake (coverage)"
      : item.decided_by ? `by ${item.decided_by}` : "";
    const kind = item.decision_kind ? ` (${item.decision_kind})` : "";
    const period = item.authorized_period ? `<div class="muted">authorized ${escape(item.authorized_period.start)} to ${escape(item.authorized_period.end)}</div>` : "";
    return `<strong>${escape(RESULTS[item.review_action] || item.review_action)}</strong>${escape(kind)}<div class="muted">${escape(by)}</div>${period}`;
  }

  function whyCell(item) {
    const rule = item.rule_id ? `<div class="muted">rule applied: ${escape(item.rule_id)}</div>` : "";
    const code = item.reason_code ? `<div class="muted">X12 reason ${escape(item.reason_code)}</div>` : "";
    return `${escape(item.reason || "")}${code}${rule}`;
  }

  function criteria(items) {
    return items.map((item) => {
      const list = item.criteria || [];
      if (!list.length) {
        const steps = (item.trace || []).filter((t) => t.condition || t.documents_missing || t.default);
        const shown = steps.map((t) => t.default ? `<li>${escape(t.default)}</li>`
          : t.documents_missing ? `<li><span class="missing">missing</span> documents ${escape(t.documents_missing.join(", "))}</li>`
          : `<li><span class="${t.result ? "met" : "notmet"}">${t.result ? "met" : "not met"}</span> ${escape(t.description || t.condition)}</li>`);
        return `<div><strong>Item ${item.sequence}</strong><ul>${shown.join("") || '<li class="muted">No criteria recorded.</li>'}</ul></div>`;
      }
      const line = (c) => {
        const status = c.status || "";
        const cls = status === "met" || status === "present" ? "met" : status === "missing" ? "missing" : "notmet";
        const seen = c.value !== undefined && c.value !== null ? ` <span class="muted">(seen: ${escape(JSON.stringify(c.value))})</span>` : "";
        return `<li><span class="${cls}">${escape(status)}</span> ${escape(c.description || c.id || "")}${seen}</li>`;
      };
      const groups = [];
      for (const c of list) {
        const title = c.deciding ? `Rule that decided: ${c.rule}` : c.rule ? `Rule tried first, not applied: ${c.rule}` : "Plan checks";
        const group = groups.find((g) => g.title === title) || groups[groups.push({ title, lines: [] }) - 1];
        group.lines.push(line(c));
      }
      const shown = groups.map((g) => `<li class="muted">${escape(g.title)}</li>${g.lines.join("")}`);
      return `<div><strong>Item ${item.sequence}</strong><ul>${shown.join("")}</ul></div>`;
    }).join("");
  }

  function notes(found, history) {
    const parts = [];
    if (found.escalation_note) parts.push(`<div class="note"><strong>Note for the medical director</strong>: ${escape(found.escalation_note)}</div>`);
    if (found.p2p_at) parts.push(`<div class="note"><strong>Peer-to-peer</strong> ${local(found.p2p_at)} with ${escape(found.p2p_contact || "")}</div>`);
    const latest = history.length ? history[history.length - 1] : null;
    if (latest) parts.push(`<p class="muted">Latest: ${local(latest.at)}, ${escape(latest.actor)} — ${escape(latest.reason)}</p>`);
    return parts.join("");
  }

  function stay(s) {
    if (!s) return "";
    const n = (v) => (v === null || v === undefined ? "-" : `${v}`);
    return `<div class="stay"><strong>Inpatient stay</strong> admitted ${escape(s.admitted_on)}${s.discharged_on ? `, discharged ${escape(s.discharged_on)}` : ""}.
      Days requested ${n(s.days_requested)}, authorized ${n(s.days_authorized)}, used ${n(s.days_used)}.
      ${s.next_review_on ? `Next review <strong>${escape(s.next_review_on)}</strong>.` : ""}</div>`;
  }

  function documentsList(request, documents) {
    const answers = (request.answers || []).map((form) => `<div class="card"><strong>Form answers</strong> <span class="muted">${escape(form.status)}</span>
      <dl>${form.items.map((i) => `<dt>${escape(i.question)}</dt><dd>${escape(i.answer)}</dd>`).join("")}</dl></div>`).join("");
    const sent = documents.map((d) => `<li>${escape(d.code ? `LOINC ${d.code}` : d.resource_type)} for item(s) ${escape(d.line_items.join(", ") || "all")},
      ${escape(d.content_type || d.resource_type)}, ${d.size} bytes, received ${local(d.received_at)}
      <button type="button" class="view" data-url="${escape(d.download)}" data-label="${escape(d.code ? `LOINC ${d.code}` : d.resource_type)}">View</button></li>`).join("");
    const attached = (request.attachments || []).filter((a) => a.resource || a.text)
      .map((a) => `<li>${escape(a.title || a.text || (a.type || []).join(" ") || a.resource)} <span class="muted">(in the request)</span></li>`).join("");
    return `${answers}<ul>${sent}${attached}</ul>${sent || attached || answers ? "" : '<p class="muted">No documents received.</p>'}`;
  }

  function noticesList(notices) {
    if (!notices.length) return '<p class="muted">None issued.</p>';
    return `<ul>${notices.map((n) => `<li>${escape(n.kind)} notice to the ${escape(n.audience)}, item(s) ${escape(n.items.join(", "))}, issued ${local(n.issued_at)}; appeal by ${escape(n.appeal_by)}
      <button type="button" class="view" data-url="${escape(n.html)}" data-label="${escape(`${n.kind} notice to the ${n.audience}`)}">View</button>
      <button type="button" class="view" data-url="${escape(n.pdf)}" data-label="${escape(`${n.kind} notice to the ${n.audience} (PDF)`)}">PDF</button></li>`).join("")}</ul>`;
  }

  async function openCase(id, message) {
    $("viewer").innerHTML = "";
    const [found, request, history, documents, notices, offered] = await Promise.all([
      api("GET", `/um/cases/${id}`), api("GET", `/um/cases/${id}/request`), api("GET", `/um/cases/${id}/history`),
      api("GET", `/um/cases/${id}/attachments`), api("GET", `/um/cases/${id}/notices`),
      api("GET", `/um/cases/${id}/actions`).catch(() => ({ actions: [] }))]);
    current = found;
    $("worklist-panel").hidden = true;
    $("case").hidden = false;
    $("case-ref").textContent = found.preauth_ref;
    $("case-status").textContent = words(found.status);
    $("case-due").textContent = `${found.priority} ${found.review_type} review · due ${local(found.due_at)} · queue ${found.queue || "-"} · ${found.assignee ? `held by ${found.assignee}` : "held by nobody"}`;
    $("message").innerHTML = message ? `<p class="ok">${escape(message)}</p>` : "";
    $("case-notes").innerHTML = notes(found, history);
    $("case-summary").innerHTML = summary(found, request);
    const requested = Object.fromEntries((request.items || []).map((i) => [i.sequence, i]));
    $("case-items").innerHTML = found.items.map((i) => `<tr><td>${i.sequence}</td><td>${serviceCell(i, requested[i.sequence])}</td>
      <td>${datesCell(requested[i.sequence])}</td><td>${resultCell(i)}</td><td>${whyCell(i)}</td></tr>`).join("");
    $("case-criteria").innerHTML = criteria(found.items);
    $("case-stay").innerHTML = stay(found.stay);
    $("case-documents").innerHTML = documentsList(request, documents);
    $("case-notices").innerHTML = noticesList(notices);
    document.querySelectorAll("#case button.view").forEach((b) => b.addEventListener("click", () => openDocument(b.dataset.url, b.dataset.label)));
    $("case-history").innerHTML = history.map((h) => `<tr><td class="muted">${local(h.at)}</td><td>${escape(h.actor)} (${escape(h.role.replace("_", " "))})</td><td>${escape(h.action)}</td><td>${escape(h.reason)}</td></tr>`).join("");
    await renderActions(offered.actions || []);
    $("case-title").focus();
  }

  function pended() {
    return current.items.filter((i) => i.review_action === "A4");
  }

  function wantedDocuments() {
    const wanted = pended().flatMap((i) => i.documents_requested || []);
    return wanted[0] || { loinc: "", description: "" };
  }

  async function slotOptions() {
    try {
      const slots = await api("GET", "/um/availability");
      return slots.map((s) => `<option value="${escape(s.id)}">${escape(s.reviewer_name)}: ${escape(s.local_start)} (${escape(s.time_zone)})</option>`).join("");
    } catch (error) { return ""; }
  }

  const FORMS = {
    take: () => `<div class="action"><button type="button" class="primary" data-act="take">Take this case</button></div>`,
    approve: () => `<div class="action"><button type="button" class="primary" data-act="approve">Approve the pended items (${pended().map((i) => i.sequence).join(", ")})</button></div>`,
    request_info: () => {
      const wanted = wantedDocuments();
      return `<div class="action"><label>Document to request (LOINC) <input id="doc-loinc" value="${escape(wanted.loinc)}" placeholder="e.g. 11488-4"></label>
        <label>What it should show <input id="doc-description" value="${escape(wanted.description)}" size="60"></label>
        <button type="button" data-act="request_info">Request the document</button></div>`;
    },
    escalate: () => `<div class="action"><label>Note for the medical director <textarea id="escalate-note"></textarea></label>
      <button type="button" data-act="escalate">Escalate to a medical director</button></div>`,
    deny: () => `<div class="action" id="deny-box"><label>Denial reason <select id="deny-code"><option value="">Pick a reason</option>
        ${reasons.map((r) => `<option value="${escape(r.code)}">${escape(r.code)}: ${escape(r.description)}</option>`).join("")}</select></label>
      <label>The specific reason, in plain language (it goes in the notices) <textarea id="deny-text"></textarea></label>
      <button type="button" class="danger" data-act="deny">Deny the pended items</button></div>`,
    schedule_p2p: (slots) => `<div class="action"><label>Peer-to-peer slot <select id="p2p-slot">${slots || '<option value="">No free slots published</option>'}</select></label>
      <label>Provider contact (name and phone) <input id="p2p-contact" size="40"></label>
      <label>How to join <input id="p2p-join" size="40" placeholder="Phone bridge or video link"></label>
      <button type="button" data-act="schedule_p2p">Book the peer-to-peer</button></div>`,
    reschedule_p2p: (slots) => `<div class="action"><label>Move the peer-to-peer to <select id="p2p-new-slot">${slots || '<option value="">No free slots published</option>'}</select></label>
      <button type="button" data-act="reschedule_p2p">Move it</button></div>`,
    cancel_p2p: () => `<div class="action"><label>Why the peer-to-peer is cancelled <input id="p2p-cancel-reason" size="40"></label>
      <button type="button" data-act="cancel_p2p">Cancel the peer-to-peer</button></div>`,
    p2p_upheld: () => `<div class="action"><label>Peer-to-peer note <textarea id="p2p-note"></textarea></label>
      <button type="button" data-act="p2p_upheld">Decision upheld</button> <button type="button" data-act="p2p_overturned">Overturn: approve</button>
      <button type="button" data-act="p2p_missed">The provider did not attend</button></div>`,
    extend: () => `<div class="action"><label>Extend the review time by (days) <input id="extend-days" type="number" min="1" max="14" value="14"></label>
      <label>Reason for the extension <input id="extend-reason" size="50"></label>
      <button type="button" data-act="extend">Extend once</button></div>`,
  };

  async function renderActions(offered) {
    const slots = offered.some((a) => a === "schedule_p2p" || a === "reschedule_p2p") ? await slotOptions() : "";
    const shown = offered.filter((a) => FORMS[a]).map((a) => FORMS[a](slots));
    $("actions").innerHTML = shown.join("") || '<p class="muted">Nothing for you to do on this case now.</p>';
    document.querySelectorAll("#actions [data-act]").forEach((b) => b.addEventListener("click", () => act(b.dataset.act)));
  }

  const REQUESTS = {
    take: () => ["take", undefined, "You took the case."],
    approve: () => ["approve", { items: pended().map((i) => ({ sequence: i.sequence })) }, "Approved; the provider is notified."],
    request_info: () => ["request-info", { items: pended().map((i) => i.sequence), documents: [{ loinc: $("doc-loinc").value.trim(), description: $("doc-description").value.trim() }] }, "Document requested from the provider."],
    escalate: () => ["escalate", { note: $("escalate-note").value }, "Escalated to a medical director."],
    deny: () => ["deny", { items: pended().map((i) => i.sequence), reason_code: $("deny-code").value, reason_text: $("deny-text").value }, "Denied; the provider and member notices are issued."],
    schedule_p2p: () => ["p2p", { slot_id: $("p2p-slot").value, contact: $("p2p-contact").value, join: $("p2p-join").value }, "Peer-to-peer booked; the provider is notified."],
    reschedule_p2p: () => ["p2p/reschedule", { slot_id: $("p2p-new-slot").value }, "Peer-to-peer moved; the provider is notified."],
    cancel_p2p: () => ["p2p/cancel", { reason: $("p2p-cancel-reason").value }, "Peer-to-peer cancelled."],
    p2p_upheld: () => ["p2p/result", { outcome: "upheld", note: $("p2p-note").value }, "Decision upheld."],
    p2p_overturned: () => ["p2p/result", { outcome: "overturned", note: $("p2p-note").value }, "Denial overturned; the items are approved."],
    p2p_missed: () => ["p2p/result", { outcome: "missed", note: $("p2p-note").value }, "Recorded that the provider did not attend."],
    extend: () => ["extend", { days: Number($("extend-days").value), reason: $("extend-reason").value }, "Review time extended."],
  };

  async function act(name) {
    const [path, body, done] = REQUESTS[name]();
    try {
      await api("POST", `/um/cases/${current.id}/${path}`, body);
      await openCase(current.id, done);
    } catch (error) {
      $("message").innerHTML = `<p class="error" role="alert">${escape(error.message)}</p>`;
    }
  }

  $("login-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("filters").addEventListener("submit", loadWorklist);
  for (const id of ["scope", "queue", "status", "review-type", "sort", "mine", "overdue"]) $(id).addEventListener("change", () => loadWorklist());
  $("back").addEventListener("click", () => { $("case").hidden = true; $("worklist-panel").hidden = false; current = null; loadWorklist(); });
  setInterval(() => { if (cases.length && !$("worklist-panel").hidden) renderWorklist(); }, 30000);
  if (claims && claims.exp * 1000 > Date.now()) show(); else signOut();
})();
