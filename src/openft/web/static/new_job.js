// The create-job form: model, files, method, the common hyperparameters (blank = auto),
// and for RFT the grader as JSON.
import { api } from "./api.js";
import { errorBox, h } from "./dom.js";

const FIELDS = {
  supervised: ["n_epochs", "batch_size", "learning_rate_multiplier"],
  dpo: ["n_epochs", "batch_size", "learning_rate_multiplier", "beta"],
  reinforcement: ["n_epochs", "batch_size", "learning_rate_multiplier", "compute_multiplier", "eval_interval", "eval_samples"],
};
const GRADER = { type: "string_check", name: "exact", input: "{{sample.output_text}}", reference: "{{item.answer}}", operation: "eq" };

const field = (label, control) => h("label", {}, `${label} `, control);

function hyperparameters(form, type) {
  const values = {};
  for (const name of FIELDS[type]) {
    const raw = form.elements[name]?.value.trim();
    if (raw) values[name] = Number(raw);
  }
  return values;
}

function request(form) {
  const type = form.elements.method.value;
  const method = { type, [type]: { hyperparameters: hyperparameters(form, type) } };
  if (type === "reinforcement") method.reinforcement.grader = JSON.parse(form.elements.grader.value);
  const body = { model: form.elements.model.value.trim(), training_file: form.elements.training_file.value, method };
  for (const name of ["validation_file", "suffix"]) if (form.elements[name].value) body[name] = form.elements[name].value.trim();
  if (form.elements.seed.value) body.seed = Number(form.elements.seed.value);
  return body;
}

export async function renderNewJob(view) {
  const [models, files] = await Promise.all([api("/models"), api("/files?purpose=fine-tune&limit=1000")]);
  const options = (empty) => [empty && h("option", { value: "" }, empty), ...files.data.map((f) => h("option", { value: f.id }, `${f.filename} (${f.id})`))];
  const method = h("select", { name: "method", id: "job-method" }, ["supervised", "dpo", "reinforcement"].map((m) => h("option", { value: m }, m)));
  const params = h("fieldset", {}, h("legend", {}, "Hyperparameters (blank = auto)"));
  const grader = h("textarea", { name: "grader", rows: 6, cols: 60 }, JSON.stringify(GRADER, null, 2));
  const graderField = field("Grader (JSON)", grader);
  const drawParams = () => {
    params.replaceChildren(h("legend", {}, "Hyperparameters (blank = auto)"), ...FIELDS[method.value].map((n) => field(n, h("input", { name: n, id: `hp-${n}`, inputmode: "decimal" }))));
    graderField.hidden = method.value !== "reinforcement";
  };
  method.addEventListener("change", drawParams);
  const status = h("div");
  const form = h(
    "form",
    { id: "new-job", class: "card" },
    h("h1", {}, "Create a fine-tuning job"),
    field("Model", h("input", { name: "model", id: "job-model", list: "model-names", required: true })),
    h("datalist", { id: "model-names" }, models.data.map((m) => h("option", { value: m.id }))),
    field("Training file", h("select", { name: "training_file", id: "job-training-file", required: true }, options(null))),
    field("Validation file", h("select", { name: "validation_file", id: "job-validation-file" }, options("(none)"))),
    field("Method", method),
    params,
    graderField,
    field("Suffix", h("input", { name: "suffix", maxlength: 64 })),
    field("Seed", h("input", { name: "seed", inputmode: "numeric" })),
    h("button", { type: "submit" }, "Create job"),
    status,
  );
  drawParams();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const job = await api("/fine_tuning/jobs", { json: request(form) });
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  });
  view.replaceChildren(form);
}
