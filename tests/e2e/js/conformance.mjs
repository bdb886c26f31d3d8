// The official JS SDK against Postbox: every non-LLM method a QStash user relies on.
// Env: QSTASH_URL, QSTASH_TOKEN, RECEIVER (base URL of a receiver answering 200 on /ok and 500 on /fail).
import { createHash } from "node:crypto";
import { Client } from "@upstash/qstash";

const client = new Client({ baseUrl: process.env.QSTASH_URL, token: process.env.QSTASH_TOKEN });
const receiver = process.env.RECEIVER;
const results = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function check(method, run) {
  try {
    const detail = await run();
    results.push({ method, ok: true, detail: detail ?? null });
  } catch (error) {
    results.push({ method, ok: false, detail: String(error && error.stack ? error.stack : error) });
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function waitFor(probe, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

let published;
await check("publishJSON", async () => {
  published = await client.publishJSON({ url: `${receiver}/ok`, body: { hello: "js" }, headers: { "test-header": "x" }, label: "js" });
  expect(published.messageId, "no messageId");
  return published;
});
await check("messages.get", async () => {
  const delayed = await client.publish({ url: `${receiver}/ok`, body: "later", delay: 3600, retryDelay: "1000" });
  const message = await client.messages.get(delayed.messageId);
  expect(message.messageId === delayed.messageId, "wrong message");
  expect(message.header["Test-Header"] === undefined, "unexpected header");
  expect(message.retryDelayExpression === "1000", `retryDelayExpression ${message.retryDelayExpression}`);
  return { messageId: message.messageId };
});
await check("messages.cancel / delete / deleteMany / deleteAll", async () => {
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await client.publish({ url: `${receiver}/ok`, body: `c${i}`, delay: 3600 })).messageId);
  await client.messages.delete(ids[0]);
  const many = await client.messages.deleteMany([ids[1], ids[2]]);
  expect(many === 2, `deleteMany returned ${many}`);
  const all = await client.messages.deleteAll();
  expect(all >= 1, `deleteAll returned ${all}`);
  return { many, all };
});
await check("batchJSON", async () => {
  const answers = await client.batchJSON([
    { url: `${receiver}/ok`, body: { n: 1 } },
    { url: `${receiver}/ok`, body: { n: 2 } },
  ]);
  expect(answers.length === 2, "batch answers");
  return answers.length;
});
await check("urlGroups.addEndpoints / get / list / publish / removeEndpoints / delete", async () => {
  await client.urlGroups.addEndpoints({ name: "js-group", endpoints: [{ url: `${receiver}/ok` }, { name: "second", url: `${receiver}/ok?second=1` }] });
  const group = await client.urlGroups.get("js-group");
  expect(group.endpoints.length === 2, "endpoints");
  expect((await client.urlGroups.list()).some((g) => g.name === "js-group"), "list");
  const fanned = await client.publishJSON({ urlGroup: "js-group", body: { fan: true } });
  expect(Array.isArray(fanned) && fanned.length === 2, "fan-out");
  await client.urlGroups.removeEndpoints({ name: "js-group", endpoints: [{ name: "second" }] });
  expect((await client.urlGroups.get("js-group")).endpoints.length === 1, "remove");
  await client.urlGroups.delete("js-group");
  return fanned.length;
});
await check("queue upsert / get / list / pause / resume / enqueueJSON / delete", async () => {
  const queue = client.queue({ queueName: "js-queue" });
  await queue.upsert({ parallelism: 2 });
  expect((await queue.get()).parallelism === 2, "parallelism");
  await queue.pause();
  expect((await queue.get()).paused === true, "paused");
  await queue.resume();
  const enqueued = await queue.enqueueJSON({ url: `${receiver}/ok`, body: { queued: true } });
  expect(enqueued.messageId, "enqueue");
  expect((await client.queue().list()).some((q) => q.name === "js-queue"), "list");
  await queue.delete();
  return enqueued.messageId;
});
await check("schedules create / get / list / pause / resume / delete", async () => {
  const { scheduleId } = await client.schedules.create({ destination: `${receiver}/ok`, cron: "*/5 * * * *", body: "s" });
  const schedule = await client.schedules.get(scheduleId);
  expect(schedule.cron === "*/5 * * * *", "cron");
  await client.schedules.pause({ schedule: scheduleId });
  expect((await client.schedules.get(scheduleId)).isPaused === true, "paused");
  await client.schedules.resume({ schedule: scheduleId });
  expect((await client.schedules.list()).some((s) => s.scheduleId === scheduleId), "list");
  await client.schedules.delete(scheduleId);
  return scheduleId;
});
let failedId;
await check("dlq.listMessages / retry / delete", async () => {
  failedId = (await client.publish({ url: `${receiver}/fail`, body: "dead", retries: 0 })).messageId;
  const entry = await waitFor(async () => {
    const page = await client.dlq.listMessages({ filter: { messageId: failedId } });
    return page.messages.find((m) => m.messageId === failedId);
  }, "the DLQ entry");
  expect(entry.responseStatus === 500, `responseStatus ${entry.responseStatus}`);
  const retried = await client.dlq.retry([entry.dlqId]);
  expect(retried.responses.length === 1, "retry");
  const again = (await client.publish({ url: `${receiver}/fail`, body: "dead again", retries: 0 })).messageId;
  const second = await waitFor(async () => (await client.dlq.listMessages({ filter: { messageId: again } })).messages[0], "the 2nd entry");
  const deleted = await client.dlq.delete(second.dlqId);
  return { retried: retried.responses.length, deleted };
});
await check("batch / events / queue.enqueue / dlq.deleteMany / messages.cancel(filter)", async () => {
  const answers = await client.batch([{ url: `${receiver}/ok`, body: "plain" }]);
  expect(answers.length === 1 && answers[0].messageId, "batch");
  const events = await client.events({ filter: { messageId: answers[0].messageId } });
  expect(Array.isArray(events.logs), "events");
  const queue = client.queue({ queueName: "js-queue-2" });
  const enqueued = await queue.enqueue({ url: `${receiver}/ok`, body: "plain" });
  expect(enqueued.messageId, "enqueue");
  await queue.delete();
  const dead = (await client.publish({ url: `${receiver}/fail`, body: "x", retries: 0 })).messageId;
  const entry = await waitFor(async () => (await client.dlq.listMessages({ filter: { messageId: dead } })).messages[0], "entry");
  const removed = await client.dlq.deleteMany({ dlqIds: [entry.dlqId] });
  expect(removed.deleted === 1, `deleteMany ${JSON.stringify(removed)}`);
  await client.publish({ url: `${receiver}/ok`, body: "labelled", delay: 3600, label: "js-cancel" });
  const cancelled = await client.messages.cancel({ filter: { label: "js-cancel" } });
  expect(cancelled.cancelled === 1, `cancel ${JSON.stringify(cancelled)}`);
  return { removed, cancelled };
});
await check("logs", async () => {
  const logs = await waitFor(async () => {
    const page = await client.logs({ filter: { messageId: published.messageId, state: "DELIVERED" } });
    return page.logs.length === 1 ? page.logs : null;
  }, "the DELIVERED log entry");
  return logs.length;
});
await check("flowControl.get / pause / resume / pin / unpin / resetRate / getGlobalParallelism", async () => {
  await client.publish({ url: `${receiver}/ok`, body: "f", delay: 3600, flowControl: { key: "js-key", parallelism: 2, rate: 3, period: "5s" } });
  const info = await client.flowControl.get("js-key");
  expect(info.flowControlKey === "js-key" || info.key === "js-key", "key");
  await client.flowControl.pause("js-key");
  await client.flowControl.resume("js-key");
  await client.flowControl.pin("js-key", { parallelism: 4 });
  await client.flowControl.unpin("js-key", { parallelism: true });
  await client.flowControl.resetRate("js-key");
  const global = await client.flowControl.getGlobalParallelism();
  return { waitListSize: info.waitListSize, global };
});

await check("filters: never wider than asked, several values, labels, redaction, schedule flow control", async () => {
  const tag = `f${Date.now()}`;
  const a = (await client.publish({ url: `${receiver}/fail`, body: "fa", retries: 0, label: [`${tag}-a1`, `${tag}-a2`], flowControl: { key: `${tag}-key`, parallelism: 5 } })).messageId;
  const b = (await client.publish({ url: `${receiver}/fail`, body: "fb", retries: 0, label: `${tag}-b`, headers: { Authorization: "Bearer js-secret" }, redact: { body: true, header: ["Authorization"] } })).messageId;
  const both = await waitFor(async () => {
    const page = await client.dlq.listMessages({ filter: { label: [`${tag}-a2`, `${tag}-b`] } });
    return page.messages.length === 2 ? page.messages : null;
  }, "both DLQ entries");
  const entryA = both.find((m) => m.messageId === a);
  const entryB = both.find((m) => m.messageId === b);
  expect(entryA && entryA.label === `${tag}-a1` && JSON.stringify(entryA.labels) === JSON.stringify([`${tag}-a1`, `${tag}-a2`]), `labels ${JSON.stringify(entryA)}`);
  const digest = (value) => `REDACTED:${createHash("sha256").update(value).digest("hex")}`;
  expect(entryB && entryB.body === digest("fb"), `redacted body ${entryB && entryB.body}`);
  expect(entryB.header.Authorization[0] === digest("Bearer js-secret"), `redacted header ${JSON.stringify(entryB.header)}`);
  // A filter that matches nothing acts on nothing
  const none = await client.dlq.delete({ filter: { flowControlKey: "nothing-has-this" } });
  expect(none.deleted === 0, `dlq.delete by an unmatched filter deleted ${none.deleted}`);
  const noRetry = await client.dlq.retry({ filter: { flowControlKey: "non-existent-key" } });
  expect(noRetry.responses.length === 0, `dlq.retry by an unmatched filter retried ${noRetry.responses.length}`);
  const delayed = (await client.publish({ url: `${receiver}/ok`, body: "later", delay: 3600, label: `${tag}-pending` })).messageId;
  const noCancel = await client.messages.cancel({ filter: { queueName: "no-such-queue" } });
  expect(noCancel.cancelled === 0, `messages.cancel by an unmatched filter cancelled ${noCancel.cancelled}`);
  // The log takes several values of a filter, and host/path
  const logs = await client.logs({ filter: { label: [`${tag}-a1`, `${tag}-b`], state: "FAILED", host: new URL(receiver).host } });
  expect(logs.logs.length === 2, `logs by two labels: ${logs.logs.length}`);
  // A filter acts on what it matches
  const deleted = await client.dlq.delete({ filter: { flowControlKey: `${tag}-key` } });
  expect(deleted.deleted === 1, `dlq.delete by flowControlKey deleted ${deleted.deleted}`);
  const cancelled = await client.messages.cancel({ filter: { label: `${tag}-pending`, path: "/ok" } });
  expect(cancelled.cancelled === 1, `messages.cancel by label and path cancelled ${cancelled.cancelled}`);
  await client.dlq.delete({ filter: { label: `${tag}-b` } });
  // A schedule keeps its flow control
  const { scheduleId } = await client.schedules.create({ destination: `${receiver}/ok`, cron: "0 0 1 1 *", flowControl: { key: `${tag}-sched`, parallelism: 10, rate: 5, period: "1d" } });
  const schedule = await client.schedules.get(scheduleId);
  await client.schedules.delete(scheduleId);
  expect(schedule.flowControlKey === `${tag}-sched` && schedule.parallelism === 10 && schedule.rate === 5 && schedule.period === 86400, `schedule ${JSON.stringify(schedule)}`);
  return { delayed, deleted: deleted.deleted, cancelled: cancelled.cancelled };
});

console.log(JSON.stringify(results));
process.exit(results.every((r) => r.ok) ? 0 : 1);
