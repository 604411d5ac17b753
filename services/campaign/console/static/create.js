// Mass sending -> Create: the campaign form, live counts, Preview, Send, Send as test.
import { $, $$, api, applyPermissions, clearErrors, debounce, dialog, h, page, pager, showProblem, superseding } from "./app.js";

const form = $("#create");
const PAGE = 10;
let attachments = []; // uploaded ids
applyPermissions(form);

const values = (id) => [...$(`#${id}`).selectedOptions].map((o) => o.value);
const ids = (id) => values(id).map(Number);
const text = (id) => $(`#${id}`).value.trim() || undefined;
const list = (v) => (v.length ? v : undefined);

/** The campaign request the form describes (the API's CampaignRequest). */
function request() {
  const sendTo = $("#send_to").value;
  const email = sendTo !== "sms";
  const billing = $("#billing_type").value;
  const templateId = $("#template").value;
  return {
    recipient_type: $("#recipient_type").value,
    filters: {
      login: text("login"), status: list(values("status")), full_name: text("full_name"),
      email: text("email"), billing_email: text("billing_email"), phone: text("phone"),
      category: list(values("category")), location_ids: list(ids("location_ids")),
      partner_ids: list(ids("partner_ids")), billing_type: billing === "all" ? undefined : billing,
      tariff_ids: list(ids("tariff_ids")), services: list(values("services")),
    },
    send_to: sendTo,
    send_to_billing_email: email && $("#send_to_billing_email").checked,
    subject: email ? $("#subject").value : "",
    message: $("#message").value || (templateId ? null : ""),
    template_id: $("#message").value || !templateId ? null : Number(templateId),
    attachments: email ? attachments : [],
    attach_financial_documents: email ? $$("input[name=documents]:checked").map((c) => c.value) : [],
    only_if_financial_documents_exist: email && $("#only_if_financial_documents_exist").checked,
  };
}

const noun = () => ($("#recipient_type").value === "lead" ? "leads" : "customers");

// --- pick lists and templates ---------------------------------------------------------------

async function loadNames() {
  for (const select of $$("select[data-names]")) {
    const { status, data } = await api("GET", `/${select.dataset.names}`, { query: { limit: 1000 } });
    if (status !== 200) continue;
    select.replaceChildren(...data.items.map((n) => h("option", { value: n.id }, n.name ? `${n.name} (${n.id})` : `#${n.id}`)));
  }
}

async function loadTemplates() {
  const channel = { sms: "sms", email: "email", portal: "portal", portal_email: "email" }[$("#send_to").value];
  const { status, data } = await api("GET", "/templates", { query: { channel, limit: 1000 } });
  const select = $("#template");
  const keep = select.value;
  select.replaceChildren(h("option", { value: "" }, "—"),
    ...(status === 200 ? data.items : []).map((t) => h("option", { value: t.id }, t.title)));
  select.value = keep;
}

$("#template").addEventListener("change", async () => {
  const id = $("#template").value;
  if (!id) return;
  const { status, data } = await api("GET", `/templates/${id}`);
  if (status !== 200) return;
  $("#message").value = data.body;
  if (data.subject) $("#subject").value = data.subject;
  refresh();
});

function toggleChannel() {
  const sms = $("#send_to").value === "sms";
  for (const node of $$(".email-only", form)) node.classList.toggle("hidden", sms);
  for (const node of $$(".sms-only", form)) node.classList.toggle("hidden", !sms);
}

// --- live: matching count, characters / encoding / parts, template errors ------------------

const previewed = superseding();
async function live() {
  const body = request();
  // Nothing typed yet: still count who matches (the API needs some message to preview).
  const empty = !body.message && !body.template_id;
  if (empty) body.message = "-";
  const answer = await previewed("POST", "/campaigns/preview", { body, query: { limit: 1 } });
  if (!answer) return undefined;
  const { status, data } = answer;
  if (status !== 200) {
    showProblem(form, data);
    $("#matching").textContent = "Matching recipients: —";
    return data;
  }
  clearErrors(form);
  $("#matching").textContent = `Matching recipients: ${data.recipients_total} ${noun()}`;
  $("#counter").textContent = empty ? "" : data.encoding
    ? `Characters: ${data.characters} · Encoding: ${data.encoding} · Parts: ${data.parts}`
    : "Characters: — (no recipient to render for)";
  return null;
}
const refresh = debounce(live, 250);
form.addEventListener("input", refresh);
form.addEventListener("change", (e) => {
  if (e.target.id === "send_to") { toggleChannel(); loadTemplates(); }
  refresh();
});

// --- attachments --------------------------------------------------------------------------

$("#attachments")?.addEventListener("change", async (e) => {
  attachments = [];
  const names = [];
  for (const file of e.target.files) {
    const data = new FormData();
    data.append("file", file);
    const answer = await api("POST", "/attachments", { form: data });
    if (answer.status !== 201) { showProblem(form, answer.data); return; }
    attachments.push(answer.data.id);
    names.push(file.name);
  }
  $("#uploaded").textContent = names.length ? `Uploaded: ${names.join(", ")}` : "";
  refresh();
});

// --- Preview --------------------------------------------------------------------------------

$("#preview").addEventListener("click", async () => {
  const { status, data } = await api("POST", "/campaigns/preview", { body: request(), query: { limit: 1 } });
  if (status !== 200) { showProblem(form, data); return; }
  clearErrors(form);
  const first = data.recipients[0];
  const body = h("div", {},
    h("p", {}, first ? `Rendered for ${first.full_name || first.login || "#" + first.id} (#${first.id}) · ${data.recipients_total} ${noun()} match` : `No ${noun()} match: nothing to render`),
    data.subject ? h("p", {}, h("strong", {}, "Subject: "), data.subject) : null,
    data.message !== null ? h("div", { className: "rendered", id: "preview-message" }, data.message) : null,
    data.encoding ? h("p", { className: "muted", id: "preview-parts" }, `Encoding: ${data.encoding} · Characters: ${data.characters} · Parts: ${data.parts}`) : null);
  dialog("Preview", body, [{ text: "Close", onclick: (close) => close() }]);
});

// --- Send: confirmation with the recipients, unticked rows excluded --------------------------

$("#send")?.addEventListener("click", async () => {
  const body = request();
  const { status, data } = await api("POST", "/campaigns/preview", { body, query: { limit: 1000 } });
  if (status !== 200) { showProblem(form, data); return; }
  clearErrors(form);
  const excluded = new Set();
  let search = "";
  let offset = 0;
  const notice = h("div", { className: "notice", id: "send-notice" });
  const holder = h("div", {});
  const rows = data.recipients;
  const matches = () => rows.filter((r) => !search || [r.id, r.login, r.full_name, r.email, r.phone].join(" ").toLowerCase().includes(search));
  const draw = () => {
    notice.textContent = `Message will be sent to ${data.recipients_total - excluded.size} ${noun()}`;
    const shown = matches();
    const slice = shown.slice(offset, offset + PAGE);
    const tick = (r) => h("input", { type: "checkbox", checked: !excluded.has(r.id), ariaLabel: `Send to #${r.id}`,
      onchange: (e) => { if (e.target.checked) excluded.delete(r.id); else excluded.add(r.id); draw(); } });
    holder.replaceChildren(
      h("table", {}, h("thead", {}, h("tr", {}, ["", "#", "Login", "Full name", "Email", "Phone number"].map((t) => h("th", {}, t)))),
        h("tbody", {}, slice.map((r) => h("tr", {}, h("td", {}, tick(r)), h("td", {}, r.id), h("td", {}, r.login), h("td", {}, r.full_name), h("td", {}, r.email), h("td", {}, r.phone))))),
      pager(shown.length, PAGE, offset, (o) => { offset = o; draw(); }),
      h("p", { className: "muted" }, rows.length < data.recipients_total ? `The list shows the first ${rows.length}; the others are all sent to.` : ""));
  };
  const searchBox = h("input", { type: "search", placeholder: "Table search", ariaLabel: "Table search",
    oninput: (e) => { search = e.target.value.trim().toLowerCase(); offset = 0; draw(); } });
  draw();
  const key = crypto.randomUUID();
  dialog("Send message", h("div", {}, notice, h("div", { className: "inline" }, searchBox), holder), [
    { text: "Cancel", onclick: (close) => close() },
    { text: "Send", primary: true, onclick: async (close) => {
      body.filters.exclude_ids = excluded.size ? [...excluded] : undefined;
      const answer = await api("POST", "/campaigns", { body, headers: { "Idempotency-Key": key } });
      close();
      if (answer.status !== 202) { showProblem(form, answer.data); return; }
      window.location.assign(`/mass-sending/campaigns/${answer.data.id}`);
    } },
  ]);
});

// --- Send as test ---------------------------------------------------------------------------

$("#send-test")?.addEventListener("click", () => {
  const sms = $("#send_to").value === "sms";
  const what = sms ? "Phone number" : "Email";
  const input = h("input", { type: sms ? "text" : "email", id: "test-to", ariaLabel: what });
  const slot = h("div", { "data-field": "test_to" }, input);
  const content = h("div", {}, h("div", { className: "row" }, h("label", { htmlFor: "test-to" }, what), slot), h("div", { "data-errors": "" }));
  const box = dialog("Send as test", content, [
    { text: "Cancel", onclick: (close) => close() },
    { text: "Send", primary: true, onclick: async () => {
      const answer = await api("POST", "/campaigns/test", { body: { ...request(), test_to: input.value.trim() } });
      if (answer.status !== 202) { showProblem(content, answer.data); return; }
      content.replaceChildren(h("p", { className: "notice", id: "test-sent" }, `Test message queued to ${answer.data.to}`), h("div", { className: "rendered" }, answer.data.message));
    } },
  ], "small");
  input.focus();
  return box;
});

// --- Save as new ----------------------------------------------------------------------------

$("#save-as-new")?.addEventListener("click", () => {
  const title = h("input", { type: "text", id: "template-title" });
  const content = h("div", {}, h("div", { className: "row" }, h("label", { htmlFor: "template-title" }, "Title"), h("div", { "data-field": "title" }, title)), h("div", { "data-errors": "" }));
  dialog("Save as new template", content, [
    { text: "Cancel", onclick: (close) => close() },
    { text: "Save", primary: true, onclick: async (close) => {
      const channel = { sms: "sms", email: "email", portal: "portal", portal_email: "email" }[$("#send_to").value];
      const answer = await api("POST", "/templates", { body: { title: title.value.trim(), channel, subject: $("#subject").value, body: $("#message").value } });
      if (answer.status !== 201) { showProblem(content, answer.data); return; }
      close();
      await loadTemplates();
      $("#template").value = String(answer.data.id);
    } },
  ], "small");
});

toggleChannel();
if (page.partner_id) $("#partner_ids").dataset.scoped = "1";
await Promise.all([loadNames(), loadTemplates()]);
live();
