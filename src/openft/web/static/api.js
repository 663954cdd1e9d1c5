// The /v1 client of the dashboard: every call carries the key kept in localStorage.
const KEY = "openft.key";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export const key = () => localStorage.getItem(KEY);
export const setKey = (value) => localStorage.setItem(KEY, value);
export const clearKey = () => localStorage.removeItem(KEY);

function headers(extra = {}) {
  return { Authorization: `Bearer ${key() || ""}`, ...extra };
}

async function failure(res, quiet = false) {
  const body = await res.json().catch(() => null);
  const message = body?.error?.message || `${res.status} ${res.statusText}`;
  if (res.status === 401 && !quiet) window.dispatchEvent(new CustomEvent("openft:unauthorized"));
  return new ApiError(message, res.status);
}

// api("/files") -> the parsed JSON body; api("/x", {json: {...}}) posts JSON. A 401 logs out,
// unless quiet (the login form's own check).
export async function api(path, { method, json, body, quiet } = {}) {
  const init = { method: method || (json || body ? "POST" : "GET"), headers: headers() };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await fetch(`/v1${path}`, init);
  if (!res.ok) throw await failure(res, quiet);
  return res.json();
}

// Streams a chat completion: onDelta(text) for each piece of content, until [DONE].
export async function streamChat(request, onDelta) {
  const res = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ ...request, stream: true }),
  });
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const blocks = buffer.split("\n\n");
    buffer = blocks.pop();
    for (const block of blocks) {
      const data = block.replace(/^data: ?/, "").trim();
      if (data === "[DONE]") return;
      if (!data) continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(chunk.error.message, 500);
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) onDelta(text);
    }
  }
}

// Every item of a list endpoint, following has_more with ?after= (at most `cap` items).
export async function listAll(path, { limit = 100, cap = 10000 } = {}) {
  const items = [];
  let after = null;
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=${limit}${after ? `&after=${after}` : ""}`);
    items.push(...page.data);
    if (!page.has_more || !page.data.length || items.length >= cap) return items;
    after = page.data[page.data.length - 1].id;
  }
}
