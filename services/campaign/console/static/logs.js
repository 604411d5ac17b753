// Logs -> SMS / Email: period, type, status filters; a row opens its details.
import { $, api, badge, clearErrors, dialog, fmtDate, h, label, pager, showProblem, superseding, table } from "./app.js";

const { channel } = JSON.parse($("#screen-data").textContent);
const PAGE = 25;
const root = $("#log").parentElement;
let offset = 0;
const listed = superseding();

/** from/to of a period in the browser's time zone. */
function range(period) {
  const day = new Date(); day.setHours(0, 0, 0, 0);
  const days = (n) => new Date(day.getTime() + n * 86400000);
  const local = (id) => ($(`#${id}`).value ? new Date($(`#${id}`).value) : undefined);
  const ranges = { today: [day, days(1)], yesterday: [days(-1), day], last_7_days: [days(-6), days(1)],
    last_30_days: [days(-29), days(1)], custom: [local("from"), local("to")] };
  const [from, to] = ranges[period] || [];
  return { from: from?.toISOString(), to: to?.toISOString() };
}

async function load() {
  const period = $("#period").value;
  for (const node of document.querySelectorAll(".custom")) node.classList.toggle("hidden", period !== "custom");
  const query = { ...range(period), type: $("#type").value, status: $("#status").value, campaign_id: $("#campaign_id").value, limit: PAGE, offset };
  const answer = await listed("GET", `/logs/${channel}`, { query });
  if (!answer) return;
  const { status, data } = answer;
  if (status !== 200) { showProblem(root, data); return; }
  clearErrors(root);
  $("#log").replaceChildren(
    table([
      { title: "ID", cell: (m) => m.id }, { title: "Recipient", cell: (m) => m.recipient },
      { title: "Type", cell: (m) => label(m.type) }, { title: "Status", cell: (m) => badge(m.status) },
      { title: "Added", cell: (m) => fmtDate(m.added_at) }, { title: "Sent", cell: (m) => fmtDate(m.sent_at) },
      { title: "Customer", cell: (m) => m.customer_id ?? "" }, { title: "Campaign", cell: (m) => m.campaign_id ?? "" },
      { title: "Error", cell: (m) => m.error || "" },
    ], data.items, details),
    pager(data.total, PAGE, offset, (o) => { offset = o; load(); }));
}

async function details(row) {
  const { status, data } = await api("GET", `/logs/${channel}/${row.id}`);
  if (status !== 200) return;
  const item = (name, value) => (value === null || value === undefined || value === "" ? null : h("div", { className: "row" }, h("span", { className: "label" }, name), h("div", {}, value)));
  const text = (value, id) => h("pre", { id }, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  dialog(`${channel === "sms" ? "SMS" : "Email"} #${data.id}`, h("div", { id: "log-details" },
    item("Recipient", data.recipient), item("Status", badge(data.status)), item("Type", label(data.type)),
    item("Added", fmtDate(data.added_at)), item("Sent", fmtDate(data.sent_at)), item("Error", data.error),
    item("Attempts", String(data.attempts ?? "")), item("Subject", data.subject),
    item("Text", data.text !== null ? h("div", { className: "rendered", id: "log-text" }, data.text) : null),
    item("Gateway request", data.gateway_request ? text(data.gateway_request) : null),
    item("Gateway answer", data.gateway_answer ? text(data.gateway_answer, "log-answer") : null),
    item("Delivery report", data.delivery_status ? `${data.delivery_status} ${fmtDate(data.delivered_at)}` : null)),
  [{ text: "Close", onclick: (close) => close() }]);
}

$("#log-filters").addEventListener("change", () => { offset = 0; load(); });
$("#log-filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
load();
