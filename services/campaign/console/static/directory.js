// Directory: customers and leads, searched on the server, read-only.
import { $, debounce, dialog, h, label, pager, superseding, table } from "./app.js";

const PAGE = 25;
let offset = 0;
const listed = superseding();

async function load() {
  const kind = $("#kind").value;
  const answer = await listed("GET", `/${kind}`, { query: { search: $("#search").value.trim(), limit: PAGE, offset } });
  if (!answer || answer.status !== 200) return;
  const { data } = answer;
  $("#people").replaceChildren(
    table([
      { title: "ID", cell: (p) => p.id }, { title: "Login", cell: (p) => p.login },
      { title: "Full name", cell: (p) => p.full_name }, { title: "Status", cell: (p) => label(p.status) },
      { title: "Email", cell: (p) => p.email }, { title: "Phone number", cell: (p) => p.phone },
      { title: "Partner", cell: (p) => p.partner_id ?? "" }, { title: "Location", cell: (p) => p.location_id ?? "" },
    ], data.items, show),
    pager(data.total, PAGE, offset, (o) => { offset = o; load(); }));
}

function show(person) {
  dialog(`${person.full_name || person.login} (#${person.id})`, h("pre", { id: "person" }, JSON.stringify(person, null, 2)), [{ text: "Close", onclick: (close) => close() }]);
}

const again = () => { offset = 0; load(); };
$("#kind").addEventListener("change", again);
$("#search").addEventListener("input", debounce(again, 250));
$("#directory-filters").addEventListener("submit", (e) => { e.preventDefault(); again(); });
load();
