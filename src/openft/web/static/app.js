// The dashboard's router: hash routes, the login gate, and one view at a time.
import { api, clearKey, key, setKey } from "./api.js";
import { errorBox, h } from "./dom.js";
import { renderFiles } from "./files.js";
import { renderJob } from "./job.js";
import { renderJobs } from "./jobs.js";
import { renderNewJob } from "./new_job.js";
import { renderPlayground } from "./playground.js";

const ROUTES = [
  [/^#\/jobs\/new$/, renderNewJob],
  [/^#\/jobs\/([^/?]+)$/, renderJob],
  [/^#\/jobs$/, renderJobs],
  [/^#\/files$/, renderFiles],
  [/^#\/playground(?:\?model=(.*))?$/, renderPlayground],
];

let cleanup = null;

function renderLogin(view) {
  const input = h("input", { id: "api-key", name: "key", type: "password", placeholder: "sk-...", required: true });
  const status = h("div");
  const form = h(
    "form",
    { id: "login", class: "card narrow" },
    h("h1", {}, "Log in"),
    h("p", {}, "Your openft API key (with open access, any key works)."),
    h("label", {}, "API key ", input),
    h("button", { type: "submit" }, "Log in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setKey(input.value.trim());
    try {
      await api("/models", { quiet: true });
      location.hash = "#/jobs";
    } catch (error) {
      clearKey();
      status.replaceChildren(errorBox(error));
    }
  });
  view.replaceChildren(form);
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const view = document.getElementById("view");
  const loggedIn = Boolean(key());
  document.getElementById("nav").hidden = !loggedIn;
  if (!loggedIn || location.hash === "#/login") return renderLogin(view);
  for (const [pattern, render] of ROUTES) {
    const match = location.hash.match(pattern);
    if (match) {
      const params = match.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
      cleanup = (await render(view, ...params)) || null;
      return;
    }
  }
  location.hash = "#/jobs";
}

window.addEventListener("hashchange", route);
window.addEventListener("openft:unauthorized", () => {
  clearKey();
  location.hash = "#/login";
  route();
});
document.getElementById("logout").addEventListener("click", () => {
  clearKey();
  location.hash = "#/login";
  route();
});
route();
