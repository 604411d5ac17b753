// Helpers every screen uses: the page's context, API calls, DOM building, errors, paging.

export const page = JSON.parse(document.getElementById("herald-page").textContent);

/** Whether this session may call an API route, e.g. can("POST /campaigns"). */
export function can(route) {
  return page.can.includes(route);
}

/** Call the API (under /api/v1 unless opts.root) with the session cookie and CSRF token.
 * Answers {status, data}; a 401 (session gone) goes back to the sign-in page. */
export async function api(method, path, opts = {}) {
  const headers = { Accept: "application/json", ...(opts.headers || {}) };
  let body;
  if (opts.form) {
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  if (method !== "GET") headers["X-CSRF-Token"] = page.csrf;
  let url = (opts.root ? "" : "/api/v1") + path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v !== undefined && v !== null && v !== "") q.set(k, v);
    }
    if ([...q].length) url += "?" + q;
  }
  const response = await fetch(url, { method, headers, body, credentials: "same-origin", signal: opts.signal });
  if (response.status === 401 && !opts.root) {
    window.location.assign("/signin");
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  return { status: response.status, data };
}

/** An api() whose calls supersede each other: each aborts the one before, so a slow answer
 * to older filters never replaces a newer one. Answers like api(), or null when superseded. */
export function superseding() {
  let inflight;
  return async (method, path, opts = {}) => {
    inflight?.abort();
    const mine = (inflight = new AbortController());
    try {
      const answer = await api(method, path, { ...opts, signal: mine.signal });
      return mine.signal.aborted ? null : answer;
    } catch (e) {
      if (e.name === "AbortError") return null;
      throw e;
    }
  };
}

/** An element: h("td", {className: "x"}, "text", child). Strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && k !== "list") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Remove the error messages shown in a container. */
export function clearErrors(root) {
  for (const node of $$(".error[data-for]", root)) node.remove();
}

/** Show a problem+json answer: each field's message beside the input whose data-field names
 * it (or a prefix of it), the rest in the container's [data-errors] slot. */
export function showProblem(root, problem) {
  clearErrors(root);
  const general = $("[data-errors]", root);
  const errors = problem && problem.errors && problem.errors.length ? problem.errors : [{ message: problem.detail || String(problem) }];
  for (const error of errors) {
    const field = error.field || "";
    let target = null;
    for (let name = field; name && !target; name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "") {
      target = $(`[data-field="${CSS.escape(name)}"]`, root);
    }
    const text = target || !field ? error.message : `${field}: ${error.message}`;
    const node = h("p", { className: "error", role: "alert", dataset: { for: field || "form" } }, text);
    // Inside a field's container (the grid's second column), beside the input it names.
    if (target) target.matches("input, select, textarea") ? target.after(node) : target.append(node);
    else if (general) general.append(node);
  }
}

export function fmtDate(value) {
  if (!value) return "";
  const d = new Date(value);
  return d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** The product's names of the send_to values. */
export const SEND_TO = { sms: "SMS", email: "Email", portal: "Customer portal", portal_email: "Customer portal & Email" };

/** The label the product uses for a status value: "sent_with_error" -> "Sent with error". */
export function label(value) {
  const text = String(value ?? "").replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function badge(status) {
  return h("span", { className: `badge ${status}` }, label(status));
}

/** A table: columns [{title, cell(row) -> node|string}], rows; onRow(row) makes rows clickable. */
export function table(columns, rows, onRow) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.title)))),
    h("tbody", {}, rows.length ? rows.map((row) => h("tr", onRow ? { className: "clickable", tabIndex: 0, onclick: () => onRow(row), onkeydown: (e) => { if (e.key === "Enter") onRow(row); } } : {},
      columns.map((c) => h("td", {}, c.cell(row))))) : h("tr", {}, h("td", { colSpan: columns.length, className: "muted" }, "No entries"))));
}

/** "Showing a to b of n entries" and previous/next buttons; onPage(offset). */
export function pager(total, limit, offset, onPage) {
  const last = Math.min(offset + limit, total);
  return h("div", { className: "pager" },
    h("span", { className: "muted" }, `Showing ${total ? offset + 1 : 0} to ${last} of ${total} entries`),
    h("button", { type: "button", disabled: offset === 0, ariaLabel: "Previous page", onclick: () => onPage(Math.max(0, offset - limit)) }, "‹"),
    h("button", { type: "button", disabled: last >= total, ariaLabel: "Next page", onclick: () => onPage(offset + limit) }, "›"));
}

/** A modal dialog; buttons [{text, primary, onclick(close)}]. Escape closes it. */
export function dialog(title, content, buttons = [], className = "") {
  const node = h("dialog", { className, ariaLabel: title });
  const close = () => { node.close(); node.remove(); };
  node.append(
    h("div", { className: "head" }, h("h2", {}, title), h("button", { type: "button", className: "link", ariaLabel: "Close", onclick: close }, "✕")),
    h("div", { className: "body" }, content),
    h("div", { className: "foot" }, buttons.map((b) => h("button", { type: "button", className: b.primary ? "primary" : "", onclick: () => b.onclick(close) }, b.text))));
  node.addEventListener("close", () => node.remove());
  document.body.append(node);
  node.showModal();
  return { node, close };
}

/** Hide every element whose data-needs names an API route the session may not call. */
export function applyPermissions(root = document) {
  for (const node of $$("[data-needs]", root)) {
    if (!can(node.dataset.needs)) node.remove();
  }
}
