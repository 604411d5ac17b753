// Config -> Email: the SMTP server; the password is masked and kept when left as it is.
import { $, api, applyPermissions, can, clearErrors, showProblem } from "./app.js";

const form = $("#email-config");
const TEXT = ["host", "security", "username", "password", "from_address", "from_name"];
const NUMBERS = ["port", "limit_per_hour", "expiry_days", "timeout_seconds", "max_connections"];
const CHECKS = ["enabled", "verify_tls"];
applyPermissions();
if (!can("PUT /config/email")) for (const node of form.elements) node.disabled = true;

function fill(config) {
  for (const name of [...TEXT, ...NUMBERS]) $(`#${name}`).value = config[name] ?? "";
  for (const name of CHECKS) $(`#${name}`).checked = config[name];
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {};
  for (const name of TEXT) body[name] = $(`#${name}`).value;
  for (const name of NUMBERS) if ($(`#${name}`).value !== "") body[name] = Number($(`#${name}`).value);
  for (const name of CHECKS) body[name] = $(`#${name}`).checked;
  const { status, data } = await api("PUT", "/config/email", { body });
  if (status !== 200) { showProblem(form, data); $("#saved").textContent = ""; return; }
  clearErrors(form);
  fill(data);
  $("#saved").textContent = "Saved";
});

const { status, data } = await api("GET", "/config/email");
if (status === 200) fill(data);
