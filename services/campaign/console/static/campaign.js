// One campaign, live: counts, rate, ETA, a rate chart, errors by reason, controls, recipients.
import { $, api, applyPermissions, badge, dialog, fmtDate, h, label, pager, SEND_TO, showProblem, superseding, table } from "./app.js";

const id = Number(window.location.pathname.split("/").pop());
// The API's words (shared/vocabulary.py): message statuses, the final ones, finished campaigns.
const { statuses: STATUSES, final: DONE, finished: FINISHED } = JSON.parse($("#screen-data").textContent);
const PAGE = 20;
const samples = []; // [seconds, final messages]
let offset = 0;
const listed = superseding();
let campaign = null;
applyPermissions();
$("#campaign-id").textContent = `#${id}`;

const finalCount = (counts) => DONE.reduce((n, s) => n + (counts[s] || 0), 0);

function rate() {
  // Messages finished per second over the last ~10 s of samples.
  if (samples.length < 2) return 0;
  const last = samples[samples.length - 1];
  const first = samples.find((s) => last[0] - s[0] <= 10) || samples[0];
  return last[0] > first[0] ? (last[1] - first[1]) / (last[0] - first[0]) : 0;
}

function drawChart() {
  const svg = $("#chart");
  const ns = "http://www.w3.org/2000/svg";
  const width = 420, height = 120, pad = 18;
  const rates = samples.slice(1).map((s, i) => [s[0], (s[1] - samples[i][1]) / Math.max(s[0] - samples[i][0], 0.001)]);
  svg.replaceChildren();
  const text = (x, y, value) => { const t = document.createElementNS(ns, "text"); t.setAttribute("x", x); t.setAttribute("y", y); t.textContent = value; svg.append(t); };
  if (rates.length < 1) { text(pad, height / 2, "waiting for the first messages…"); return; }
  const t0 = rates[0][0], t1 = Math.max(rates[rates.length - 1][0], t0 + 1);
  const top = Math.max(...rates.map((r) => r[1]), 1);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", rates.map(([t, r]) => `${pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad)},${height - pad - (r / top) * (height - 2 * pad)}`).join(" "));
  svg.append(line);
  for (const point of line.getAttribute("points").split(" ")) {
    const [x, y] = point.split(",");
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x); dot.setAttribute("cy", y); dot.setAttribute("r", 2);
    svg.append(dot);
  }
  text(2, 12, `${top.toFixed(1)}/s`);
  text(2, height - 4, "0");
  text(width - 60, height - 4, `${Math.round(t1 - t0)} s`);
}

function show(c) {
  campaign = c;
  const counts = c.counts || {};
  $("#campaign-status").replaceChildren(badge(c.status));
  $("#campaign-title").textContent = `${SEND_TO[c.send_to]} · ${c.subject || (c.message || "").split("\n")[0]} · created ${fmtDate(c.created_at)}`;
  const total = c.total || 0;
  const done = finalCount(counts);
  const percent = total ? Math.round((100 * done) / total) : (FINISHED.includes(c.status) ? 100 : 0);
  $("#bar").style.width = `${percent}%`;
  $(".bar").setAttribute("aria-valuenow", percent);
  $("#stats").replaceChildren(
    h("div", { className: "stat" }, h("div", { className: "n", id: "count-recipients" }, c.recipients_total ?? "…"), h("div", { className: "k" }, "Recipients")),
    h("div", { className: "stat" }, h("div", { className: "n", id: "count-total" }, total), h("div", { className: "k" }, "Messages")),
    ...STATUSES.map((s) =>
      h("div", { className: "stat" }, h("div", { className: "n", id: `count-${s}` }, counts[s] || 0), h("div", { className: "k" }, label(s)))));
  const perSecond = rate();
  $("#rate").textContent = `${perSecond.toFixed(1)} messages/s`;
  const left = total - done;
  $("#eta").textContent = FINISHED.includes(c.status) ? "done" : perSecond > 0 ? `${Math.ceil(left / perSecond)} s` : "—";
  const paused = c.status === "paused";
  const running = !FINISHED.includes(c.status);
  for (const [button, shown] of [["#pause", running && !paused], ["#resume", paused], ["#cancel", running]]) {
    const node = $(button);
    if (node) node.disabled = !shown;
  }
  drawChart();
}

async function poll() {
  const { status, data } = await api("GET", `/campaigns/${id}`);
  if (status !== 200) { showProblem($("#progress-title").parentElement.parentElement, data); return; }
  samples.push([performance.now() / 1000, finalCount(data.counts || {})]);
  if (samples.length > 120) samples.shift();
  show(data);
  await Promise.all([recipients(), errors()]);
  if (!FINISHED.includes(data.status)) setTimeout(poll, 1000);
}

async function errors() {
  const { status, data } = await api("GET", `/campaigns/${id}/recipients`, { query: { status: "error", limit: 1000 } });
  if (status !== 200) return;
  const groups = new Map();
  for (const row of data.items) groups.set(row.error || "unknown", (groups.get(row.error || "unknown") || 0) + 1);
  $("#errors").replaceChildren(groups.size
    ? table([{ title: "Reason", cell: (g) => g[0] }, { title: "Messages", cell: (g) => g[1] }], [...groups].sort((a, b) => b[1] - a[1]))
    : h("p", { className: "muted" }, "No errors"));
}

async function viewMessage(row) {
  const { status, data } = await api("GET", `/campaigns/${id}/recipients/${row.id}/message`);
  if (status !== 200) return;
  dialog("View message", h("div", {},
    h("p", {}, `${row.full_name || row.login || "#" + row.id} · ${row.to}`),
    data.subject ? h("p", {}, h("strong", {}, "Subject: "), data.subject) : null,
    h("div", { className: "rendered", id: "view-message" }, data.message)), [{ text: "Close", onclick: (close) => close() }]);
}

async function recipients() {
  const answer = await listed("GET", `/campaigns/${id}/recipients`, { query: { status: $("#recipient-status").value, limit: PAGE, offset } });
  if (!answer || answer.status !== 200) return;
  const { data } = answer;
  $("#recipients").replaceChildren(
    table([
      { title: "ID", cell: (r) => r.id ?? "" }, { title: "Login", cell: (r) => r.login ?? "" },
      { title: "Full name", cell: (r) => r.full_name ?? "" }, { title: "To", cell: (r) => r.to },
      { title: "Status", cell: (r) => badge(r.status) }, { title: "Error", cell: (r) => r.error || "" },
      { title: "Sent", cell: (r) => fmtDate(r.sent_at) },
      { title: "", cell: (r) => (r.id ? h("button", { type: "button", className: "link", onclick: () => viewMessage(r) }, "View message") : "") },
    ], data.items),
    pager(data.total, PAGE, offset, (o) => { offset = o; recipients(); }));
}

$("#recipient-status").addEventListener("change", () => { offset = 0; recipients(); });

for (const action of ["pause", "resume", "cancel"]) {
  $(`#${action}`)?.addEventListener("click", async () => {
    const { status, data } = await api("POST", `/campaigns/${id}/${action}`);
    if (status !== 200) { showProblem($("#progress-title").closest("section"), data); return; }
    show({ ...campaign, ...data, counts: data.counts || campaign.counts });
  });
}

poll();
