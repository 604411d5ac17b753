// Config -> SMS: gateway fields, presets, masked secrets kept, the gateway test, pause/resume.
import { $, api, applyPermissions, can, clearErrors, h, showProblem } from "./app.js";

const { presets } = JSON.parse($("#screen-data").textContent);
const form = $("#sms-config");
const TEXT = ["url", "method", "content_type", "payload", "success_text", "callback_secret"];
const NUMBERS = ["expiry_days", "rate_per_second", "max_parts", "timeout_seconds", "max_connections", "batch_size"];
applyPermissions();
$("#preset").append(...Object.keys(presets).map((name) => h("option", { value: name }, name)));
if (!can("PUT /config/sms")) for (const node of form.elements) node.disabled = true;

function fill(config) {
  for (const name of TEXT) $(`#${name}`).value = config[name] ?? "";
  for (const name of NUMBERS) $(`#${name}`).value = config[name] ?? "";
  $("#headers").value = JSON.stringify(config.headers || {});
  $("#enabled").checked = config.enabled;
  $("#verify_ssl").checked = config.verify_ssl;
  const pause = config.paused;
  $("#paused").classList.toggle("hidden", !pause);
  if (pause) $("#paused-reason").textContent = `Sending is paused: ${pause.reason || "paused"}${pause.since ? " (since " + new Date(pause.since).toLocaleString() + ")" : ""}`;
}

async function load() {
  const { status, data } = await api("GET", "/config/sms");
  if (status === 200) fill(data);
}

$("#preset").addEventListener("change", () => {
  const preset = presets[$("#preset").value];
  if (preset) fill({ ...collect(false), ...preset, paused: null });
});

function collect(strict = true) {
  const config = { enabled: $("#enabled").checked, verify_ssl: $("#verify_ssl").checked };
  for (const name of TEXT) config[name] = $(`#${name}`).value;
  for (const name of NUMBERS) if ($(`#${name}`).value !== "") config[name] = Number($(`#${name}`).value);
  try {
    config.headers = $("#headers").value.trim() ? JSON.parse($("#headers").value) : {};
  } catch {
    if (strict) throw { errors: [{ field: "headers", message: "not valid JSON" }] };
  }
  return config;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  let body;
  try { body = collect(); } catch (problem) { showProblem(form, problem); return; }
  const { status, data } = await api("PUT", "/config/sms", { body });
  if (status !== 200) { showProblem(form, data); $("#saved").textContent = ""; return; }
  clearErrors(form);
  fill(data);
  $("#saved").textContent = "Saved";
});

$("#test")?.addEventListener("click", async () => {
  const section = $("#test").closest("section");
  const { status, data } = await api("POST", "/config/sms/test", { body: { phone: $("#test-phone").value.trim() } });
  if (status !== 200) { showProblem(section, data); return; }
  clearErrors(section);
  const answer = $("#test-answer");
  answer.classList.remove("hidden");
  answer.textContent = `${data.status} · HTTP ${data.http_status ?? "—"}${data.reason ? " · " + data.reason : ""}\n${data.answer}`;
});

$("#resume")?.addEventListener("click", async () => {
  const { status } = await api("POST", "/config/sms/resume");
  if (status === 200) load();
});

load();
