// DOM helpers. Everything the API returns is attacker-controlled (bodies, headers, URLs, labels): it only ever
// becomes text nodes (`Element.append` with strings, `textContent`) or attribute values set with `setAttribute`
// (never `href`, `src` or an event-handler attribute). No HTML is parsed from data anywhere in the console.

const SVG_NS = "http://www.w3.org/2000/svg";

/** An element: `h("td", {class: "num"}, "text", otherNode)`. Keys of `props` are always literals of this code. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "disabled" || key === "hidden") element[key] = Boolean(value);
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

/** An SVG element with numeric or literal attributes. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child)); // a string becomes a text node
  }
}

export function byId(id) {
  return document.getElementById(id);
}

/** Local date and time, `2026-11-01 14:03:07`. */
export function formatTime(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** The unix ms a UUIDv7 carries (DLQ ids are UUIDv7: the time the entry was written), else null. */
export function uuid7Time(id) {
  const match = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-/i.exec(String(id));
  return match ? parseInt(match[1] + match[2], 16) : null;
}

function base64Bytes(value) {
  try {
    return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** A body as the API sends it: `{text}` for UTF-8, `{base64}` otherwise (or for the event log, always base64).
 * Shown as text when it is UTF-8, else as base64. */
export function bodyView({ text, base64 }) {
  if (typeof text === "string") return { kind: "text", value: text };
  if (typeof base64 !== "string" || base64 === "") return { kind: "empty", value: "" };
  const bytes = base64Bytes(base64);
  if (bytes !== null) {
    try {
      return { kind: "text", value: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
    } catch {
      // not UTF-8: shown as base64
    }
  }
  return { kind: "base64", value: base64 };
}

/** A `<pre>` of a body, with what it is (text, base64 or none). */
export function bodyBlock(body, testId) {
  const view = bodyView(body);
  if (view.kind === "empty") return h("p", { class: "muted", "data-testid": testId }, "(no body)");
  return h(
    "div",
    { class: "body" },
    h("span", { class: "tag" }, view.kind === "text" ? "text" : "base64 (not UTF-8)"),
    h("pre", { "data-testid": testId }, view.value),
  );
}

/** A table of `{name: [values]}` headers. */
export function headerTable(header) {
  const names = Object.keys(header || {}).sort((a, b) => a.localeCompare(b));
  if (!names.length) return h("p", { class: "muted" }, "(no headers)");
  return h(
    "table",
    { class: "kv" },
    h(
      "tbody",
      {},
      names.map((name) => {
        const values = header[name];
        return h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, Array.isArray(values) ? values.join(", ") : String(values)));
      }),
    ),
  );
}

/** A definition list of `[label, value]` pairs, leaving out empty values. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
  );
}
