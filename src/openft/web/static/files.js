// The files page: every file of the project, and an upload form.
import { api } from "./api.js";
import { errorBox, h, number, table, when } from "./dom.js";

const PURPOSES = ["fine-tune", "batch", "assistants", "vision", "user_data", "evals"];

function fileRows(files, refresh) {
  return files.map((f) =>
    h(
      "tr",
      { "data-file": f.id },
      h("td", { class: "mono" }, f.id),
      h("td", {}, f.filename),
      h("td", {}, f.purpose),
      h("td", {}, number(f.bytes)),
      h("td", { class: `status ${f.status}` }, f.status),
      h("td", {}, when(f.created_at)),
      h("td", {}, h("button", { type: "button", onclick: async () => { await api(`/files/${f.id}`, { method: "DELETE" }).catch(alert); refresh(); } }, "Delete")),
    ),
  );
}

function uploadForm(onDone) {
  const input = h("input", { id: "upload-file", type: "file", name: "file", required: true, accept: ".jsonl,.json,.txt" });
  const purpose = h("select", { id: "upload-purpose", name: "purpose" }, PURPOSES.map((p) => h("option", { value: p }, p)));
  const status = h("div", { id: "upload-status" });
  const form = h("form", { id: "upload", class: "card" }, h("h2", {}, "Upload a file"), h("label", {}, "File ", input), h("label", {}, "Purpose ", purpose), h("button", { type: "submit" }, "Upload"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("purpose", purpose.value);
    body.append("file", input.files[0]);
    status.replaceChildren("Uploading…");
    try {
      const file = await api("/files", { body });
      status.replaceChildren(h("p", {}, `Uploaded ${file.id}`));
      form.reset();
      onDone();
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  });
  return form;
}

export async function renderFiles(view) {
  const list = h("div");
  const refresh = async () => {
    try {
      const files = (await api("/files?limit=1000")).data;
      const columns = ["File", "Name", "Purpose", "Bytes", "Status", "Created", ""];
      list.replaceChildren(table(columns, fileRows(files, refresh), { id: "files" }));
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };
  view.replaceChildren(h("h1", {}, "Files"), uploadForm(refresh), list);
  await refresh();
}
