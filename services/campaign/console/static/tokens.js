// Tokens: create with a role and partner (the secret shown once), list, revoke.
import { $, api, badge, clearErrors, dialog, fmtDate, h, label, pager, showProblem, table } from "./app.js";

const PAGE = 50;
const form = $("#new-token");
let offset = 0;
const partners = new Map();

async function load() {
  const { status, data } = await api("GET", "/tokens", { query: { limit: PAGE, offset } });
  if (status !== 200) return;
  $("#tokens").replaceChildren(
    table([
      { title: "ID", cell: (t) => t.id }, { title: "Name", cell: (t) => t.name },
      { title: "Role", cell: (t) => label(t.role) },
      { title: "Partner", cell: (t) => (t.partner_id ? partners.get(t.partner_id) || `#${t.partner_id}` : "All") },
      { title: "Token", cell: (t) => `${t.prefix}…` }, { title: "Created", cell: (t) => fmtDate(t.created_at) },
      { title: "Last used", cell: (t) => fmtDate(t.last_used_at) },
      { title: "", cell: (t) => (t.revoked_at ? badge("revoked") : h("button", { type: "button", className: "link", onclick: () => revoke(t) }, "Revoke")) },
    ], data.items),
    pager(data.total, PAGE, offset, (o) => { offset = o; load(); }));
}

function revoke(t) {
  dialog("Revoke", h("p", {}, `Revoke token ${t.name || t.prefix}? Whoever uses it is refused from now on.`), [
    { text: "Cancel", onclick: (close) => close() },
    { text: "Revoke", primary: true, onclick: async (close) => { await api("DELETE", `/tokens/${t.id}`); close(); load(); } },
  ], "small");
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const partner = $("#token-partner").value;
  const body = { name: $("#token-name").value.trim(), role: $("#token-role").value, partner_id: partner ? Number(partner) : null };
  const { status, data } = await api("POST", "/tokens", { body });
  if (status !== 201) { showProblem(form, data); return; }
  clearErrors(form);
  const box = $("#created");
  box.classList.remove("hidden");
  box.replaceChildren(h("p", {}, "The token, shown only now: copy it."), h("pre", { id: "new-secret" }, data.token));
  load();
});

const names = await api("GET", "/partners", { query: { limit: 1000 } });
for (const p of names.status === 200 ? names.data.items : []) {
  partners.set(p.id, p.name || `#${p.id}`);
  $("#token-partner").append(h("option", { value: p.id }, p.name ? `${p.name} (${p.id})` : `#${p.id}`));
}
load();
