// The console's calls to Postbox's REST API, on this origin, with the token the user typed (never in a URL).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const BULK_CHUNK = 100; // ids per bulk retry / delete request, as the CLI sends them
// Named by the API on every answer to a valid token: "full", or "read-only" (GET routes but the signing keys).
const ACCESS_HEADER = "Postbox-Token-Access";

/** `onAccess(access, token)` hears the access the API names for the token each answer was sent with. */
export function createApi(getToken, onAccess = () => {}) {
  async function call(method, path, { query = {}, body } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
    }
    const token = getToken();
    const headers = { Authorization: `Bearer ${token}` };
    const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(0, `the API did not answer (${error.message})`);
    }
    const access = response.headers.get(ACCESS_HEADER);
    if (access) onAccess(access, token);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = data && data.error;
      const message = typeof error === "string" ? error : error && typeof error.message === "string" ? error.message : "";
      throw new ApiError(response.status, message || `HTTP ${response.status}`);
    }
    return data;
  }

  const id = (value) => encodeURIComponent(value);

  /** Bulk calls with explicit ids only: without ids these routes act on every entry matching the (empty) filter. */
  async function inChunks(ids, send) {
    if (!ids.length) throw new Error("no DLQ ids given");
    const answers = [];
    for (let i = 0; i < ids.length; i += BULK_CHUNK) answers.push(await send(ids.slice(i, i + BULK_CHUNK)));
    return answers;
  }

  return {
    listDlq: (query) => call("GET", "/v2/dlq", { query }),
    getDlq: (dlqId) => call("GET", `/v2/dlq/${id(dlqId)}`),
    async retryDlq(dlqIds) {
      const answers = await inChunks(dlqIds, (chunk) => call("POST", "/v2/dlq/retry", { body: { dlqIds: chunk } }));
      return answers.flatMap((answer) => (answer && answer.responses) || []).map((r) => r.messageId);
    },
    async deleteDlq(dlqIds) {
      const answers = await inChunks(dlqIds, (chunk) => call("DELETE", "/v2/dlq", { body: { dlqIds: chunk } }));
      return answers.reduce((sum, answer) => sum + ((answer && answer.deleted) || 0), 0);
    },
    /** The message's details by id or deduplication id, for the whole retention period. */
    messageDetails: (key) => call("GET", `/v1/messages/${id(key)}`),
    /** One page of the event log. */
    events: (query) => call("GET", "/v2/events", { query }),
  };
}
