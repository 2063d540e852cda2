// The supervisor page: polls api/jobs every few seconds and redraws the tables in place.
// Plain DOM code, no build step. Text from the server is only ever set as textContent.
"use strict";

const REFRESH_MS = (Number(document.body.dataset.refresh) || 5) * 1000;
const CONFIRM_MS = 4000;
const BUSY = { start: "starting…", stop: "stopping…", restart: "restarting…" };
const ui = {
  jobs: document.getElementById("jobs"),
  user: document.getElementById("user"),
  updated: document.getElementById("updated"),
  auto: document.getElementById("auto"),
  notice: document.getElementById("notice"),
  log: document.getElementById("log"),
  logTitle: document.getElementById("log-title"),
  logStream: document.getElementById("log-stream"),
  logBytes: document.getElementById("log-bytes"),
  logFollow: document.getElementById("log-follow"),
  logInfo: document.getElementById("log-info"),
  logText: document.getElementById("log-text"),
};
const state = {
  data: null, // last answer of api/jobs
  pending: new Map(), // "job|program" -> action running
  confirm: null, // {key, action, until}: the second click of stop/restart acts
  log: null, // {dagId, prefix, program}
  loading: false,
  timer: null,
};

// -- small helpers ------------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function formatSeconds(total) {
  if (total === null || total === undefined) return "";
  const days = Math.floor(total / 86400);
  const rest = total % 86400;
  const hms = [Math.floor(rest / 3600), Math.floor((rest % 3600) / 60), rest % 60]
    .map((part, i) => (i === 0 ? String(part) : String(part).padStart(2, "0")))
    .join(":");
  return days ? `${days}d ${hms}` : hms;
}

function stateClass(row) {
  if (row.state === "RUNNING") return "st-ok";
  if (["STARTING", "STOPPING", "BACKOFF"].includes(row.state)) return "st-warn";
  if (row.state === "EXITED" && row.ok) return "st-done";
  return "st-bad"; // STOPPED, EXITED unexpectedly, FATAL, UNKNOWN, MISSING
}

function jobKey(job) {
  return `${job.dag_id}/${job.prefix}`;
}

function jobPath(dagId, prefix, program) {
  return "api/jobs/" + [dagId, prefix, "programs", program].map(encodeURIComponent).join("/");
}

function notify(text, isError = false) {
  ui.notice.textContent = text;
  ui.notice.classList.toggle("error", isError);
  ui.notice.hidden = !text;
}

class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" }, ...options });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    let detail = body && body.detail !== undefined ? body.detail : response.statusText;
    if (typeof detail !== "string") detail = JSON.stringify(detail);
    throw new HttpError(response.status, detail);
  }
  return body;
}

// Airflow's own pages: in Airflow's UI this page lives in a sandboxed frame that may not navigate the
// top window itself, so ask the (same-origin) Airflow app to route there.
function openInAirflow(event) {
  if (window.top === window.self || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  try {
    const url = new URL(event.currentTarget.href);
    window.top.history.pushState(window.top.history.state, "", url.pathname + url.search);
    window.top.dispatchEvent(new PopStateEvent("popstate", { state: window.top.history.state }));
    event.preventDefault();
  } catch {
    // not reachable: the plain link opens the page in this frame
  }
}

function airflowLink(path, text) {
  return el("a", { href: new URL(path, new URL("..", location.href)).href, onclick: openInAirflow, text });
}

// -- rendering ----------------------------------------------------------------------------------------

function actionButton(job, row, action) {
  const program = row.name.split(":")[0];
  const key = `${jobKey(job)}|${program}`;
  const running = state.pending.get(key);
  const confirming = state.confirm && state.confirm.key === key && state.confirm.action === action;
  const label = running === action ? BUSY[action] : confirming ? `confirm ${action}` : action;
  return el("button", {
    type: "button",
    class: confirming ? "confirm" : undefined,
    disabled: Boolean(running),
    dataset: { action },
    text: label,
    onclick: () => onAction(job, program, action),
  });
}

function programRow(job, row) {
  const actions = [el("button", { type: "button", dataset: { action: "log" }, text: "log", onclick: () => openLog(job, row.name) })];
  if (job.can_edit) {
    const active = ["RUNNING", "STARTING", "BACKOFF"].includes(row.state);
    if (!active) actions.push(actionButton(job, row, "start"));
    if (active) actions.push(actionButton(job, row, "stop"));
    actions.push(actionButton(job, row, "restart"));
  }
  return el(
    "tr",
    { dataset: { program: row.name, state: row.state } },
    el("td", {}, el("strong", { text: row.name })),
    el("td", {}, el("span", { class: `state ${stateClass(row)}`, text: row.state })),
    el("td", { class: "num pid", text: row.pid ?? "" }),
    el("td", { class: "num uptime", dataset: { seconds: row.uptime ?? "" }, text: formatSeconds(row.uptime) }),
    el("td", { class: "num exit", text: row.exitstatus ?? "" }),
    el("td", { class: "desc", title: row.description, text: row.description }),
    el("td", { class: "actions" }, actions),
  );
}

function jobCard(job) {
  const head = el(
    "div",
    { class: "job-head" },
    el("h2", {}, airflowLink(`dags/${encodeURIComponent(job.dag_id)}`, job.dag_id),
      job.prefix !== job.dag_id ? el("span", { class: "prefix", text: ` · ${job.prefix}` }) : null),
    el("span", { class: "fact" }, el("b", { text: job.where }), job.host ? ` on ${job.host}` : ""),
    job.run_id
      ? el("span", { class: "fact" }, "latest run ",
        airflowLink(`dags/${encodeURIComponent(job.dag_id)}/runs/${encodeURIComponent(job.run_id)}`, job.run_id),
        " ", el("span", { class: `run-state rs-${job.run_state}`, text: job.run_state ?? "" }))
      : null,
    el("span", { class: "fact restarts" }, "restarts ", el("b", { text: String(job.restarts) })),
  );
  const card = el("section", { class: "job", dataset: { job: jobKey(job), status: job.status } }, head);
  if (job.status === "unreachable") card.append(el("div", { class: "job-error", text: `unreachable: ${job.error}` }));
  if (job.status === "stopped") card.append(el("div", { class: "job-stopped", text: `not running: ${job.error}` }));
  if (job.programs.length) {
    card.append(el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Program", "State", "PID", "Uptime", "Exit", "Description", ""].map((t) => el("th", { text: t })))),
      el("tbody", {}, job.programs.map((row) => programRow(job, row))),
    ));
  }
  return card;
}

function render() {
  const data = state.data;
  if (!data) return;
  ui.user.textContent = `signed in as ${data.user}`;
  ui.updated.textContent = `updated ${new Date(data.generated_at).toLocaleTimeString()}`;
  const cards = data.jobs.map(jobCard);
  if (!cards.length) {
    cards.push(el("p", { class: "empty", text: "No supervised jobs yet: a job appears here once its start-supervisor task has run." }));
  }
  ui.jobs.replaceChildren(...cards);
}

// -- refresh loop -------------------------------------------------------------------------------------

async function refresh() {
  if (state.loading) return;
  state.loading = true;
  try {
    state.data = await api("api/jobs");
    if (ui.notice.classList.contains("error") && ui.notice.dataset.source === "refresh") notify("");
    render();
    if (state.log && ui.logFollow.checked) await loadLog();
  } catch (error) {
    ui.notice.dataset.source = "refresh";
    if (error.status === 401) notify("Your Airflow session has ended: reload the page to log in again.", true);
    else notify(`Could not refresh: ${error.message}`, true);
  } finally {
    state.loading = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  state.timer = ui.auto.checked ? setInterval(refresh, REFRESH_MS) : null;
}

// -- actions ------------------------------------------------------------------------------------------

async function onAction(job, program, action) {
  const key = `${jobKey(job)}|${program}`;
  const needsConfirm = action !== "start";
  if (needsConfirm && !(state.confirm && state.confirm.key === key && state.confirm.action === action && Date.now() < state.confirm.until)) {
    state.confirm = { key, action, until: Date.now() + CONFIRM_MS };
    setTimeout(() => {
      if (state.confirm && state.confirm.key === key && Date.now() >= state.confirm.until) {
        state.confirm = null;
        render();
      }
    }, CONFIRM_MS + 50);
    render();
    return;
  }
  state.confirm = null;
  state.pending.set(key, action);
  render();
  try {
    const result = await api(`${jobPath(job.dag_id, job.prefix, program)}/${action}`, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: "{}",
    });
    notify(`${action} ${program}: ${result.report.join("; ") || "done"}`, !result.ok);
  } catch (error) {
    notify(`${action} ${program} refused or failed (${error.status ?? "network"}): ${error.message}`, true);
  } finally {
    ui.notice.dataset.source = "action";
    state.pending.delete(key);
    await refresh();
  }
}

// -- log tail -----------------------------------------------------------------------------------------

function openLog(job, program) {
  state.log = { dagId: job.dag_id, prefix: job.prefix, program };
  ui.logTitle.textContent = `${jobKey(job)} · ${program}`;
  ui.logText.textContent = "";
  ui.log.hidden = false;
  loadLog();
}

async function loadLog() {
  const target = state.log;
  if (!target) return;
  const query = new URLSearchParams({ stream: ui.logStream.value, bytes: ui.logBytes.value });
  try {
    const tail = await api(`${jobPath(target.dagId, target.prefix, target.program)}/log?${query}`);
    if (state.log !== target) return;
    const atBottom = ui.logText.scrollTop + ui.logText.clientHeight >= ui.logText.scrollHeight - 4;
    if (ui.logText.textContent !== tail.text) ui.logText.textContent = tail.text;
    if (atBottom) ui.logText.scrollTop = ui.logText.scrollHeight;
    const size = `${tail.offset} bytes written${tail.overflow ? ", showing the end" : ""}`;
    ui.logInfo.textContent = `${tail.stream}: ${size}; read ${new Date(tail.read_at).toLocaleTimeString()}`;
  } catch (error) {
    if (state.log === target) ui.logInfo.textContent = `cannot read the log: ${error.message}`;
  }
}

ui.logStream.addEventListener("change", loadLog);
ui.logBytes.addEventListener("change", loadLog);
ui.logFollow.addEventListener("change", () => ui.logFollow.checked && loadLog());
document.getElementById("log-close").addEventListener("click", () => {
  state.log = null;
  ui.log.hidden = true;
});
ui.auto.addEventListener("change", () => {
  schedule();
  if (ui.auto.checked) refresh();
});

refresh();
schedule();
