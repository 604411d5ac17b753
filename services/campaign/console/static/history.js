// Mass sending -> History: Status and Period filters, columns, row actions, server-side paging.
import { $, api, badge, can, dialog, fmtDate, h, pager, SEND_TO, showProblem, superseding, table, clearErrors } from "./app.js";

const PAGE = 20;
const root = $("#history").parentElement;
let offset = 0;
const listed = superseding();

const instant = (id) => ($(`#${id}`).value ? new Date($(`#${id}`).value).toISOString() : undefined);

async function load() {
  const period = $("#period").value;
  for (const node of document.querySelectorAll(".custom")) node.classList.toggle("hidden", period !== "custom");
  const query = { status: $("#status").value, period, limit: PAGE, offset };
  if (period === "custom") Object.assign(query, { from: instant("from"), to: instant("to") });
  const answer = await listed("GET", "/campaigns", { query });
  if (!answer) return;
  const { status, data } = answer;
  if (status !== 200) { showProblem(root, data); $("#history").replaceChildren(); return; }
  clearErrors(root);
  const actions = (c) => h("div", { className: "inline" },
    h("button", { type: "button", className: "link", onclick: () => customers(c) }, "Customers list"),
    h("button", { type: "button", className: "link", onclick: () => message(c) }, "View message"),
    can("DELETE /campaigns/{id}") && c.status !== "removed" ? h("button", { type: "button", className: "link", onclick: () => remove(c) }, "Delete") : null);
  $("#history").replaceChildren(
    table([
      { title: "ID", cell: (c) => h("a", { href: `/mass-sending/campaigns/${c.id}` }, String(c.id)) },
      { title: "Send to", cell: (c) => SEND_TO[c.send_to] || c.send_to },
      { title: "Subject", cell: (c) => c.title },
      { title: "Created", cell: (c) => fmtDate(c.created_at) },
      { title: "Status", cell: (c) => badge(c.status) },
      { title: "Recipients", cell: (c) => c.recipients_total ?? "" },
      { title: "Actions", cell: actions },
    ], data.items),
    pager(data.total, PAGE, offset, (o) => { offset = o; load(); }));
}

function customers(c) {
  const holder = h("div", {});
  let at = 0;
  const draw = async () => {
    const { status, data } = await api("GET", `/campaigns/${c.id}/recipients`, { query: { limit: PAGE, offset: at } });
    if (status !== 200) return;
    holder.replaceChildren(
      table([{ title: "ID", cell: (r) => r.id ?? "" }, { title: "Login", cell: (r) => r.login ?? "" },
        { title: "Full name", cell: (r) => r.full_name ?? "" }, { title: "To", cell: (r) => r.to }, { title: "Status", cell: (r) => badge(r.status) }], data.items),
      pager(data.total, PAGE, at, (o) => { at = o; draw(); }));
  };
  draw();
  dialog(`Customers list · campaign #${c.id}`, holder, [{ text: "Close", onclick: (close) => close() }]);
}

async function message(c) {
  const { status, data } = await api("GET", `/campaigns/${c.id}`);
  if (status !== 200) return;
  dialog(`Message · campaign #${c.id}`, h("div", {},
    data.subject ? h("p", {}, h("strong", {}, "Subject: "), data.subject) : null,
    h("div", { className: "rendered", id: "campaign-message" }, data.message || "")), [{ text: "Close", onclick: (close) => close() }]);
}

function remove(c) {
  dialog("Delete", h("p", {}, `Remove campaign #${c.id} from the history? What has not been sent yet is not sent.`), [
    { text: "Cancel", onclick: (close) => close() },
    { text: "Delete", primary: true, onclick: async (close) => {
      const { status, data } = await api("DELETE", `/campaigns/${c.id}`);
      close();
      if (status !== 200) showProblem(root, data);
      load();
    } },
  ], "small");
}

$("#history-filters").addEventListener("change", () => { offset = 0; load(); });
load();
