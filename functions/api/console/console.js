// Postbox console: the DLQ (filters, paging, details, bulk retry and delete), message lookup with its lifecycle
// timeline, and a chart of deliveries over time. Talks only to this origin's REST API with the token the user
// typed, kept in session storage (gone when the tab closes; never in a URL).

import { ApiError, createApi } from "./api.js";
import { loadActivity, renderChart } from "./chart.js";
import { bodyBlock, byId, facts, formatTime, h, headerTable, uuid7Time } from "./dom.js";

const TOKEN_KEY = "postbox.console.token";
const EVENT_PAGES = 5; // a message's timeline: up to 5 pages of 1000 events
const READ_ONLY_TITLE = "read-only token: it cannot retry or delete";

const state = {
  filters: {},
  count: 25,
  cursors: [undefined], // cursors[i] opens page i; the last one known may be followed by `next`
  page: 0,
  next: undefined,
  entries: [],
  selected: new Set(),
  openId: null,
  listing: 0, // the latest list request: an older answer arriving after it is dropped
  lookingUp: 0,
  charting: 0,
  access: null, // what the API says the token may do ("full" or "read-only"); null until its first answer
};

const api = createApi(() => sessionStorage.getItem(TOKEN_KEY) || "", learnAccess);

// --- notices and errors ---------------------------------------------------------------------------------

function notify(message, kind = "info") {
  const notice = byId("notice");
  notice.className = `notice ${kind}`;
  notice.replaceChildren(message);
  notice.hidden = !message;
}

function failed(error, what) {
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showApp(false);
    notify(`The API refused the token (${error.message}). Enter a valid token.`, "error");
    return;
  }
  const status = error instanceof ApiError && error.status ? ` (${error.status})` : "";
  notify(`${what} failed${status}: ${error.message}`, "error");
}

// --- token ----------------------------------------------------------------------------------------------

function showApp(connected) {
  byId("app").hidden = !connected;
  byId("forget").hidden = !connected;
  byId("token-hint").hidden = connected;
  byId("connect").textContent = connected ? "Change token" : "Connect";
  if (!connected) setAccess(null);
}

// --- what the token may do: learnt from the API's answers, never guessed ---------------------------------

function learnAccess(access, token) {
  if (token === sessionStorage.getItem(TOKEN_KEY)) setAccess(access); // not an answer to a token since replaced
}

function setAccess(access) {
  if (access === state.access) return;
  state.access = access;
  const label = byId("token-access");
  label.textContent = access === "read-only" ? "Read-only token: it can look, not retry or delete." : "";
  label.hidden = access !== "read-only";
  renderSelection();
}

const canWrite = () => state.access === "full";

/** A control that retries or deletes: enabled only for a full-access token (and when `ready`), else says why. */
function writeControl(control, ready = true) {
  control.disabled = !canWrite() || !ready;
  if (state.access === "read-only") control.title = READ_ONLY_TITLE;
  else control.removeAttribute("title");
}

async function connect() {
  showApp(true);
  notify("");
  await Promise.all([loadDlq(), loadChart()]);
}

function onTokenSubmit(event) {
  event.preventDefault();
  const input = byId("token");
  const token = input.value.trim();
  input.value = "";
  if (!token) {
    notify("Enter an API token.", "error");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  setAccess(null);
  connect();
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  showApp(false);
  byId("dlq-rows").replaceChildren();
  byId("detail").hidden = true;
  byId("lookup-result").replaceChildren();
  byId("bulk-result").replaceChildren();
  notify("Token forgotten.");
}

// --- DLQ list -------------------------------------------------------------------------------------------

function readFilters() {
  const value = (id) => byId(id).value.trim();
  const date = (id) => {
    const ms = byId(id).value ? new Date(byId(id).value).getTime() : NaN; // datetime-local: a local time
    return Number.isFinite(ms) ? ms : undefined;
  };
  return {
    url: value("filter-url") || undefined,
    responseStatus: value("filter-status") || undefined,
    label: value("filter-label") || undefined,
    fromDate: date("filter-from"),
    toDate: date("filter-to"),
  };
}

function resetPaging() {
  state.cursors = [undefined];
  state.page = 0;
}

async function loadDlq() {
  const request = ++state.listing;
  const answer = await api
    .listDlq({ ...state.filters, count: state.count, cursor: state.cursors[state.page] })
    .catch((error) => (request === state.listing ? failed(error, "Listing the DLQ") : undefined));
  if (!answer || request !== state.listing) return;
  state.entries = answer.messages || [];
  state.next = answer.cursor;
  state.cursors[state.page + 1] = answer.cursor;
  const onPage = new Set(state.entries.map((e) => e.dlqId));
  for (const id of [...state.selected]) if (!onPage.has(id)) state.selected.delete(id);
  renderDlq();
}

function renderDlq() {
  byId("dlq-rows").replaceChildren(...state.entries.map(dlqRow));
  byId("dlq-empty").hidden = state.entries.length > 0;
  byId("page-prev").disabled = state.page === 0;
  byId("page-next").disabled = !state.next;
  byId("page-label").textContent = `page ${state.page + 1}`;
  renderSelection();
}

function dlqRow(entry) {
  const failedAt = uuid7Time(entry.dlqId) ?? entry.createdAt;
  const checkbox = h("input", {
    type: "checkbox",
    class: "select-entry",
    "aria-label": `Select DLQ entry ${entry.dlqId}`,
    checked: state.selected.has(entry.dlqId),
    onchange: (event) => {
      if (event.target.checked) state.selected.add(entry.dlqId);
      else state.selected.delete(entry.dlqId);
      renderSelection();
    },
  });
  const open = h("button", { type: "button", class: "open", onclick: () => openDetail(entry.dlqId) }, "Open");
  return h(
    "tr",
    { dataset: { dlqId: entry.dlqId }, class: entry.dlqId === state.openId ? "open-row" : "" },
    h("td", {}, checkbox),
    h("td", { class: "nowrap" }, formatTime(failedAt)),
    h("td", { class: "num" }, entry.responseStatus || "—"),
    h("td", { class: "url" }, entry.url),
    h("td", {}, entry.label || ""),
    h("td", { class: "mono" }, entry.messageId),
    h("td", {}, open),
  );
}

function renderSelection() {
  const count = state.selected.size;
  writeControl(byId("retry-selected"), count > 0);
  writeControl(byId("delete-selected"), count > 0);
  for (const control of document.querySelectorAll("input.select-entry, #select-page, [data-write]")) {
    writeControl(control);
  }
  byId("selection-count").textContent = count ? `${count} selected` : "";
  const all = byId("select-page");
  all.checked = state.entries.length > 0 && state.entries.every((e) => state.selected.has(e.dlqId));
  all.indeterminate = count > 0 && !all.checked;
}

function onSelectPage(event) {
  for (const entry of state.entries) {
    if (event.target.checked) state.selected.add(entry.dlqId);
    else state.selected.delete(entry.dlqId);
  }
  renderDlq();
}

// --- bulk retry and delete ------------------------------------------------------------------------------

const entries = (n) => `${n} DLQ ${n === 1 ? "entry" : "entries"}`;

async function retrySelected() {
  const ids = [...state.selected];
  if (!ids.length || !canWrite()) return;
  const question = `Retry ${entries(ids.length)}? Each is published again as a new message and leaves the DLQ.`;
  if (!window.confirm(question)) return;
  let messageIds;
  try {
    messageIds = await api.retryDlq(ids);
  } catch (error) {
    failed(error, "Retrying");
    await loadDlq();
    return;
  }
  const missing = ids.length - messageIds.length;
  const note = missing ? ` (${entries(missing)} had gone already)` : "";
  notify(`Retried ${entries(messageIds.length)} as new messages${note}.`, "success");
  byId("bulk-result").replaceChildren(
    h(
      "div",
      { class: "retried", "data-testid": "retried" },
      h("span", {}, "New messages: "),
      messageIds.map((id) => h("button", { type: "button", class: "link mono", onclick: () => lookup(id) }, id)),
    ),
  );
  for (const id of ids) state.selected.delete(id);
  if (ids.includes(state.openId)) closeDetail();
  await loadDlq();
}

async function deleteSelected() {
  const ids = [...state.selected];
  if (!ids.length || !canWrite()) return;
  if (!window.confirm(`Delete ${entries(ids.length)}? This cannot be undone.`)) return;
  try {
    const deleted = await api.deleteDlq(ids);
    notify(`Deleted ${entries(deleted)}.`, "success");
  } catch (error) {
    failed(error, "Deleting");
  }
  for (const id of ids) state.selected.delete(id);
  if (ids.includes(state.openId)) closeDetail();
  byId("bulk-result").replaceChildren();
  await loadDlq();
}

// --- detail pane ----------------------------------------------------------------------------------------

async function openDetail(dlqId) {
  state.openId = dlqId;
  for (const row of byId("dlq-rows").children) row.classList.toggle("open-row", row.dataset.dlqId === dlqId);
  const pane = byId("detail");
  pane.hidden = false;
  byId("detail-body").replaceChildren(h("p", { class: "muted" }, "Loading…"));
  let entry;
  try {
    entry = await api.getDlq(dlqId);
  } catch (error) {
    byId("detail-body").replaceChildren(h("p", { class: "error" }, `Could not read DLQ entry ${dlqId}: ${error.message}`));
    return;
  }
  if (state.openId !== dlqId) return;
  const attempts = h("div", {}, h("p", { class: "muted" }, "Loading the event log…"));
  byId("detail-body").replaceChildren(
    facts([
      ["DLQ id", entry.dlqId],
      ["Message id", entry.messageId],
      ["Failed at", formatTime(uuid7Time(entry.dlqId))],
      ["Created at", formatTime(entry.createdAt)],
      ["Label", entry.label],
      ["Retries", entry.maxRetries],
      ["Queue", entry.queueName],
      ["URL group", entry.topicName],
      ["Schedule", entry.scheduleId],
    ]),
    h("h3", {}, "Request"),
    h("p", { class: "request-line" }, h("strong", {}, entry.method || "POST"), " ", h("span", { class: "url" }, entry.url)),
    h("h4", {}, "Headers"),
    headerTable(entry.header),
    h("h4", {}, "Body"),
    bodyBlock({ text: entry.body, base64: entry.bodyBase64 }, "request-body"),
    h("h3", {}, "Response"),
    h("p", {}, "Status ", h("strong", { "data-testid": "response-status" }, entry.responseStatus || "none")),
    h("h4", {}, "Headers"),
    headerTable(entry.responseHeader),
    h("h4", {}, "Body"),
    bodyBlock({ text: entry.responseBody, base64: entry.responseBodyBase64 }, "response-body"),
    h("h3", {}, "Attempts (event log)"),
    attempts,
    h(
      "div",
      { class: "toolbar" },
      h(
        "button",
        { type: "button", id: "detail-retry", "data-write": "", onclick: () => selectOnly(dlqId, retrySelected) },
        "Retry this entry",
      ),
      h(
        "button",
        { type: "button", id: "detail-delete", class: "danger", "data-write": "", onclick: () => selectOnly(dlqId, deleteSelected) },
        "Delete this entry",
      ),
      h("button", { type: "button", onclick: () => lookup(entry.messageId) }, "Look up the message"),
    ),
  );
  renderSelection(); // the pane's retry and delete buttons, as the token allows
  try {
    attempts.replaceChildren(timeline(await messageEvents(entry.messageId)));
  } catch (error) {
    attempts.replaceChildren(h("p", { class: "error" }, `Could not read the event log: ${error.message}`));
  }
}

function selectOnly(dlqId, action) {
  state.selected = new Set([dlqId]);
  renderDlq();
  return action();
}

function closeDetail() {
  state.openId = null;
  byId("detail").hidden = true;
  for (const row of byId("dlq-rows").children) row.classList.remove("open-row");
}

// --- the event log of one message -----------------------------------------------------------------------

async function messageEvents(messageId) {
  const events = [];
  let cursor;
  for (let page = 0; page < EVENT_PAGES; page += 1) {
    const answer = await api.events({ messageId, order: "earliestFirst", count: 1000, cursor });
    events.push(...(answer.events || []));
    cursor = answer.cursor;
    if (!cursor) break;
  }
  return events;
}

function timeline(events) {
  if (!events.length) return h("p", { class: "muted" }, "No events (they expire with the log's retention).");
  return h(
    "ol",
    { class: "timeline", "data-testid": "timeline" },
    events.map((event) => {
      const details = [];
      if (event.responseStatus) details.push(h("span", {}, `answered ${event.responseStatus}`));
      if (event.error) details.push(h("span", { class: "error-text" }, event.error));
      if (event.nextDeliveryTime) details.push(h("span", {}, `next attempt ${formatTime(event.nextDeliveryTime)}`));
      const response = event.responseBody
        ? h("details", {}, h("summary", {}, "response body"), bodyBlock({ base64: event.responseBody }, "event-response-body"))
        : null;
      return h(
        "li",
        { class: `event state-${String(event.state).toLowerCase()}` },
        h("time", {}, formatTime(event.time)),
        h("span", { class: "state" }, event.state),
        h("span", { class: "url" }, event.url),
        details,
        response,
      );
    }),
  );
}

// --- message lookup -------------------------------------------------------------------------------------

async function lookup(key) {
  const request = ++state.lookingUp;
  const input = byId("lookup-id");
  input.value = key;
  const result = byId("lookup-result");
  result.replaceChildren(h("p", { class: "muted" }, "Looking up…"));
  byId("lookup").scrollIntoView({ block: "start" });
  let details;
  try {
    details = (await api.messageDetails(key)).data;
  } catch (error) {
    if (request !== state.lookingUp) return;
    if (error instanceof ApiError && error.status === 401) return failed(error, "The lookup");
    const why = error instanceof ApiError && error.status === 404 ? "no message has this id or deduplication id" : error.message;
    result.replaceChildren(h("p", { class: "error", "data-testid": "lookup-error" }, `${key}: ${why}`));
    return;
  }
  let events;
  try {
    events = timeline(await messageEvents(details.id));
  } catch (error) {
    events = h("p", { class: "error" }, `Could not read the event log: ${error.message}`);
  }
  if (request !== state.lookingUp) return;
  result.replaceChildren(
    h(
      "div",
      { class: "lookup", "data-testid": "lookup-details" },
      h("p", {}, "Status ", h("strong", { class: `status status-${details.status}`, "data-testid": "lookup-status" }, details.status)),
      facts([
        ["Message id", details.id],
        ["Deduplication id", details.idempotency_key],
        ["Attempts", details.attempt_count],
        ["Replays", details.replay_count],
        ["Last response status", details.response_status],
        ["Last error", details.last_error],
        ["Next attempt", details.next_attempt_at],
        ["Content type", details.content_type],
        ["Size", `${details.size_bytes} bytes`],
        ["Created at", details.created_at],
        ["Updated at", details.updated_at],
      ]),
      h("h3", {}, "Lifecycle"),
      events,
    ),
  );
}

function onLookupSubmit(event) {
  event.preventDefault();
  const key = byId("lookup-id").value.trim();
  if (key) lookup(key);
}

// --- chart ----------------------------------------------------------------------------------------------

async function loadChart() {
  const request = ++state.charting;
  const range = byId("activity-range").value;
  let activity;
  try {
    activity = await loadActivity(api, range);
  } catch (error) {
    if (request === state.charting) failed(error, "Reading the event log");
    return;
  }
  if (request !== state.charting) return;
  const totals = renderChart(byId("chart"), activity);
  const partial = activity.partial ? " (busiest series counted from their newest events only)" : "";
  byId("activity-summary").textContent =
    `${activity.label}: ${totals.DELIVERED} delivered, ${totals.RETRY} failed attempts retried, ` +
    `${totals.FAILED} failed${partial}.`;
}

// --- wiring ---------------------------------------------------------------------------------------------

function on(id, type, handler) {
  byId(id).addEventListener(type, handler);
}

function start() {
  on("token-form", "submit", onTokenSubmit);
  on("forget", "click", forgetToken);
  on("lookup-form", "submit", onLookupSubmit);
  on("activity-range", "change", loadChart);
  on("activity-refresh", "click", loadChart);
  on("dlq-refresh", "click", loadDlq);
  on("dlq-filters", "submit", (event) => {
    event.preventDefault();
    state.filters = readFilters();
    state.count = Number(byId("filter-count").value) || 25;
    state.selected.clear();
    resetPaging();
    loadDlq();
  });
  on("filter-clear", "click", () => {
    byId("dlq-filters").reset();
    state.filters = {};
    state.count = 25;
    state.selected.clear();
    resetPaging();
    loadDlq();
  });
  on("select-page", "change", onSelectPage);
  on("retry-selected", "click", retrySelected);
  on("delete-selected", "click", deleteSelected);
  on("page-prev", "click", () => {
    if (state.page > 0) state.page -= 1;
    loadDlq();
  });
  on("page-next", "click", () => {
    if (!state.next) return;
    state.page += 1;
    loadDlq();
  });
  on("detail-close", "click", closeDetail);
  if (sessionStorage.getItem(TOKEN_KEY)) connect();
  else byId("token").focus();
}

start();
