// The playground: chat with any base, ft: or checkpoint model of the project, streamed.
import { api, streamChat } from "./api.js";
import { errorBox, h } from "./dom.js";

function bubble(role, text = "") {
  return h("div", { class: `message ${role}`, "data-role": role }, h("b", {}, role), h("span", { class: "content" }, text));
}

export async function renderPlayground(view, chosen) {
  const models = (await api("/models")).data.map((m) => m.id);
  if (chosen && !models.includes(chosen)) models.unshift(chosen);
  const model = h("select", { id: "chat-model" }, models.map((id) => h("option", { value: id, selected: id === chosen }, id)));
  const system = h("textarea", { id: "chat-system", rows: 2, placeholder: "System prompt (optional)" });
  const maxTokens = h("input", { id: "chat-max-tokens", type: "number", value: "128", min: "1" });
  const temperature = h("input", { id: "chat-temperature", type: "number", value: "0.7", step: "0.1", min: "0" });
  const log = h("div", { id: "chat-log", class: "chat" });
  const input = h("textarea", { id: "chat-input", rows: 3, placeholder: "Say something", required: true });
  const send = h("button", { type: "submit", id: "chat-send" }, "Send");
  const history = [];
  const form = h("form", { id: "chat-form" }, input, send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    history.push({ role: "user", content: text });
    log.append(bubble("user", text));
    const reply = bubble("assistant");
    reply.dataset.state = "streaming";
    log.append(reply);
    const content = reply.querySelector(".content");
    const messages = system.value.trim() ? [{ role: "system", content: system.value.trim() }, ...history] : [...history];
    send.disabled = true;
    try {
      const request = { model: model.value, messages, max_tokens: Number(maxTokens.value), temperature: Number(temperature.value) };
      await streamChat(request, (piece) => content.append(piece));
      history.push({ role: "assistant", content: content.textContent });
      reply.dataset.state = "done";
    } catch (error) {
      reply.dataset.state = "error";
      reply.append(errorBox(error));
      history.pop();
    } finally {
      send.disabled = false;
    }
  });
  view.replaceChildren(
    h("h1", {}, "Playground"),
    h("div", { class: "settings" }, h("label", {}, "Model ", model), h("label", {}, "Max tokens ", maxTokens), h("label", {}, "Temperature ", temperature)),
    system,
    log,
    form,
  );
}
