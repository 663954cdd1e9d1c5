// A job's page: summary, live curves from its metrics events, hyperparameters, checkpoints,
// the event log, and cancel / pause / resume. Polls while the job has not ended.
import { api } from "./api.js";
import { lineChart } from "./chart.js";
import { errorBox, h, number, pairs, table, when } from "./dom.js";
import { CHARTS, progressOf, seriesOf } from "./metrics.js";

const ENDED = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 1500;

// Events not seen yet, newest first (the API lists newest first; page back to a known one).
async function newEvents(jobId, known) {
  const fresh = [];
  let after = null;
  for (;;) {
    const page = await api(`/fine_tuning/jobs/${jobId}/events?limit=100${after ? `&after=${after}` : ""}`);
    for (const event of page.data) {
      if (known.has(event.id)) return fresh;
      fresh.push(event);
    }
    if (!page.has_more || !page.data.length) return fresh;
    after = page.data.at(-1).id;
  }
}

function actions(job, act) {
  const button = (name, enabled) =>
    h("button", { type: "button", id: `${name}-job`, disabled: !enabled, onclick: () => act(name) }, name[0].toUpperCase() + name.slice(1));
  return h(
    "div",
    { class: "actions" },
    button("pause", job.status === "running"),
    button("resume", job.status === "paused"),
    button("cancel", !ENDED.has(job.status)),
  );
}

function summary(job, latest) {
  const row = (label, value) => (value ? [h("dt", {}, label), h("dd", {}, value)] : []);
  return h(
    "dl",
    { class: "summary" },
    row("Status", h("span", { id: "job-status", class: `status ${job.status}` }, job.status)),
    row("Method", job.method?.type || "supervised"),
    row("Model", job.model),
    row("Fine-tuned model", job.fine_tuned_model),
    row("Progress", progressOf(job, latest)),
    row("Training file", job.training_file),
    row("Validation file", job.validation_file),
    row("Trained tokens", job.trained_tokens && number(job.trained_tokens)),
    row("Created", when(job.created_at)),
    row("Finished", when(job.finished_at)),
    row("Error", job.error?.message && `${job.error.code}: ${job.error.message}`),
  );
}

function hyperparameters(job) {
  const type = job.method?.type || "supervised";
  const resolved = job.method?.[type]?.hyperparameters || job.hyperparameters || {};
  const rows = Object.entries(resolved).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, number(v))));
  return table(["Hyperparameter", "Value"], rows, { id: "hyperparameters" });
}

function checkpoints(list) {
  const rows = list.map((c) =>
    h(
      "tr",
      {},
      h("td", {}, c.step_number),
      h("td", {}, h("a", { href: `#/playground?model=${encodeURIComponent(c.fine_tuned_model_checkpoint)}` }, c.fine_tuned_model_checkpoint)),
      h("td", { class: "mono" }, pairs(c.metrics)),
    ),
  );
  return table(["Step", "Model (chat with it)", "Metrics"], rows, { id: "checkpoints" });
}

function eventLog(events) {
  const rows = events.slice(0, 300).map((e) => h("tr", { class: e.level }, h("td", {}, when(e.created_at)), h("td", {}, e.level), h("td", {}, e.message)));
  return table(["Time", "Level", "Message"], rows, { id: "events" });
}

function charts(job, events) {
  const steps = events.filter((e) => e.type === "metrics" && e.data?.step !== undefined).map((e) => e.data).reverse();
  const spec = CHARTS[job.method?.type || "supervised"] || CHARTS.supervised;
  return h("div", { class: "charts", id: "charts" }, spec.map(([title, names]) => lineChart(title, seriesOf(names, steps))));
}

export async function renderJob(view, jobId) {
  const known = new Set();
  let events = [];
  let timer = null;
  const section = (title, id) => [h("h2", {}, title), h("div", { id })];
  view.replaceChildren(
    h("h1", {}, "Job ", h("span", { class: "mono" }, jobId)),
    h("div", { id: "job-head" }),
    h("div", { id: "job-charts" }),
    ...section("Hyperparameters", "job-hparams"),
    ...section("Checkpoints", "job-checkpoints"),
    ...section("Events", "job-events"),
  );
  const put = (id, node) => view.querySelector(`#${id}`)?.replaceChildren(node);
  const act = async (name) => {
    try {
      await api(`/fine_tuning/jobs/${jobId}/${name}`, { method: "POST" });
    } catch (error) {
      alert(error.message);
    }
    refresh();
  };
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const job = await api(`/fine_tuning/jobs/${jobId}`);
      const fresh = await newEvents(jobId, known);
      fresh.forEach((e) => known.add(e.id));
      events = fresh.concat(events);
      const latest = events.find((e) => e.type === "metrics")?.data;
      put("job-head", h("div", {}, summary(job, latest), actions(job, act)));
      put("job-charts", charts(job, events));
      put("job-hparams", hyperparameters(job));
      put("job-checkpoints", checkpoints((await api(`/fine_tuning/jobs/${jobId}/checkpoints?limit=100`)).data));
      put("job-events", eventLog(events));
      if (ENDED.has(job.status) && timer) clearInterval(timer);
    } catch (error) {
      put("job-head", errorBox(error));
    } finally {
      busy = false;
    }
  }
  timer = setInterval(refresh, POLL_MS);
  await refresh();
  return () => clearInterval(timer);
}
