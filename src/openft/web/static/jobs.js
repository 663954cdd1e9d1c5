// The jobs list: status, method, model and progress, refreshed every few seconds.
import { api } from "./api.js";
import { errorBox, h, table, when } from "./dom.js";
import { progressOf } from "./metrics.js";

const ACTIVE = new Set(["running", "paused"]);

async function latestStep(job) {
  if (!ACTIVE.has(job.status)) return null;
  const events = await api(`/fine_tuning/jobs/${job.id}/events?limit=20`);
  return events.data.find((e) => e.type === "metrics")?.data || null;
}

async function rows() {
  const jobs = (await api("/fine_tuning/jobs?limit=100")).data;
  const latest = await Promise.all(jobs.map(latestStep));
  return jobs.map((job, i) =>
    h(
      "tr",
      { "data-job": job.id },
      h("td", {}, h("a", { href: `#/jobs/${job.id}` }, job.id)),
      h("td", { class: `status ${job.status}` }, job.status),
      h("td", {}, job.method?.type || "supervised"),
      h("td", {}, job.model),
      h("td", {}, job.fine_tuned_model || ""),
      h("td", { class: "progress" }, progressOf(job, latest[i])),
      h("td", {}, when(job.created_at)),
    ),
  );
}

export async function renderJobs(view) {
  const body = h("div");
  view.replaceChildren(h("h1", {}, "Fine-tuning jobs"), h("p", {}, h("a", { href: "#/jobs/new" }, "Create a job")), body);
  const columns = ["Job", "Status", "Method", "Model", "Fine-tuned model", "Progress", "Created"];
  const refresh = async () => {
    try {
      body.replaceChildren(table(columns, await rows(), { id: "jobs" }));
    } catch (error) {
      body.replaceChildren(errorBox(error));
    }
  };
  await refresh();
  const timer = setInterval(refresh, 3000);
  return () => clearInterval(timer);
}
