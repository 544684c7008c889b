/**
 * 50 concurrent writers on one item, over HTTP to the local runtime (in process):
 * - with If-Match, each writer reads, writes with the ETag it read and retries on 412 until it
 *   succeeds: no update is lost, the final version is 1 + the number of successful writes, and
 *   versions only ever increase;
 * - without If-Match (last writer wins), the final state is exactly one of the writes.
 */
import { expect } from "chai";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { ApiResponse, Request, client } from "../support/http-client";
import { canonicalJson } from "../support/reliability-store";

const WRITERS = 50;
/** A writer gives up after this many 412s; far above what 50 writers need, so it only stops a livelock. */
const MAX_ATTEMPTS_PER_WRITER = 500;
const SERVER_FIELDS = ["id", "version", "createdAt", "updatedAt"];

interface WriterLog {
  /** Versions this writer read, in order. */
  read: number[];
  /** The version its successful write produced. */
  wrote: number;
  attempts: number;
  conflicts: number;
}

function versionOf(response: ApiResponse): number {
  const etag = response.headers.get("etag") ?? "";
  const match = /^"(\d+)"$/.exec(etag);
  expect(match, `ETag ${etag}`).not.to.equal(null);
  expect(response.json.version).to.equal(Number(match?.[1]));
  return Number(match?.[1]);
}

function clientFields(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !SERVER_FIELDS.includes(key)));
}

function report(line: string): void {
  process.stdout.write(`      ${line}\n`);
}

describe("reliability: 50 concurrent writers on one item", function () {
  this.timeout(120000);
  let api: LocalApi;
  let request: Request;

  before(async () => {
    api = await startLocalApi({ settings: readStackSettings("dev"), accessLog: () => undefined });
    request = client(api.url);
  });

  after(async () => {
    await api?.close();
  });

  async function createItem(body: Record<string, unknown>): Promise<ApiResponse> {
    const created = await request("POST", "items", { json: body });
    expect(created.status, created.text).to.equal(201);
    return created;
  }

  /**
   * Runs one optimistic writer: GET, compute the new body from what it read, write with
   * If-Match, and on 412 start over. Any other status fails the test.
   */
  async function optimisticWriter(
    id: string,
    method: "PUT" | "PATCH",
    nextBody: (current: Record<string, unknown>) => Record<string, unknown>,
  ): Promise<WriterLog> {
    const log: WriterLog = { read: [], wrote: 0, attempts: 0, conflicts: 0 };
    while (log.attempts < MAX_ATTEMPTS_PER_WRITER) {
      const current = await request("GET", `items/${id}`);
      expect(current.status, current.text).to.equal(200);
      const version = versionOf(current);
      log.read.push(version);
      log.attempts += 1;
      const written = await request(method, `items/${id}`, {
        json: nextBody(current.json),
        headers: { "If-Match": `"${version}"` },
      });
      if (written.status === 412) {
        expect(written.json.error.code).to.equal("precondition_failed");
        log.conflicts += 1;
        // Exponential backoff with full jitter, as a well-behaved client would: it thins out the retry storm.
        const delayMs = Math.random() * Math.min(250, 5 * 2 ** log.conflicts);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        continue;
      }
      expect(written.status, written.text).to.equal(200);
      log.wrote = versionOf(written);
      // The write applied on top of exactly the version it named.
      expect(log.wrote).to.equal(version + 1);
      return log;
    }
    throw new Error(`writer gave up after ${MAX_ATTEMPTS_PER_WRITER} conflicts`);
  }

  function expectVersionsIncreasing(logs: WriterLog[], initialVersion: number): void {
    const written = logs.map((log) => log.wrote).sort((a, b) => a - b);
    // Each successful write produced its own version: initial+1 .. initial+WRITERS, no gaps, no repeats.
    expect(written).to.deep.equal(Array.from({ length: WRITERS }, (_, index) => initialVersion + 1 + index));
    for (const log of logs) {
      // What one writer observed never went backwards, and its write came after all it read.
      for (let index = 1; index < log.read.length; index++) {
        expect(log.read[index]).to.be.at.least(log.read[index - 1] ?? 0);
      }
      expect(log.wrote).to.be.greaterThan(Math.max(...log.read));
    }
  }

  it("with If-Match (PUT, read-modify-write of a counter): no lost update", async () => {
    const created = await createItem({ name: "counter", counter: 0, writers: [] });
    const id: string = created.json.id;
    const logs = await Promise.all(
      Array.from({ length: WRITERS }, (_, writer) =>
        optimisticWriter(id, "PUT", (current) => ({
          name: "counter",
          counter: Number(current.counter) + 1,
          writers: [...(current.writers as number[]), writer],
        })),
      ),
    );
    const final = await request("GET", `items/${id}`);
    const attempted = logs.reduce((sum, log) => sum + log.attempts, 0);
    const writers = final.json.writers as number[];
    const lost = WRITERS - new Set(writers).size;
    report(
      `If-Match PUT: ${WRITERS} writers, ${attempted} writes attempted (${attempted - WRITERS} answered 412), ` +
        `${WRITERS} succeeded, ${lost} lost; final version ${final.json.version}, counter ${final.json.counter}`,
    );
    expect(final.json.counter).to.equal(WRITERS);
    expect([...writers].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: WRITERS }, (_, index) => index));
    expect(final.json.version).to.equal(1 + WRITERS);
    expectVersionsIncreasing(logs, 1);
  });

  it("with If-Match (PATCH, one marker per writer merged into a map): no lost update", async () => {
    const created = await createItem({ name: "markers", markers: {} });
    const id: string = created.json.id;
    const logs = await Promise.all(
      Array.from({ length: WRITERS }, (_, writer) =>
        optimisticWriter(id, "PATCH", (current) => ({
          markers: { [`w${writer}`]: (current.version as number) + 1 },
        })),
      ),
    );
    const final = await request("GET", `items/${id}`);
    const attempted = logs.reduce((sum, log) => sum + log.attempts, 0);
    const markers = final.json.markers as Record<string, number>;
    const lost = Array.from({ length: WRITERS }, (_, writer) => `w${writer}`).filter((key) => !(key in markers)).length;
    report(
      `If-Match PATCH: ${WRITERS} writers, ${attempted} writes attempted (${attempted - WRITERS} answered 412), ` +
        `${WRITERS} succeeded, ${lost} lost; final version ${final.json.version}`,
    );
    expect(lost).to.equal(0);
    expect(final.json.version).to.equal(1 + WRITERS);
    expectVersionsIncreasing(logs, 1);
    // Each marker holds the version its own write produced: the write landed on the version it read.
    for (const [writer, log] of logs.entries()) {
      expect(markers[`w${writer}`]).to.equal(log.wrote);
    }
  });

  it("without If-Match (PUT, last writer wins): the final state is exactly one of the writes", async () => {
    const created = await createItem({ name: "contended" });
    const id: string = created.json.id;
    const bodies = Array.from({ length: WRITERS }, (_, writer) => ({
      name: `writer ${writer}`,
      description: `written by ${writer}`,
      writer,
      payload: { writer, tags: Array.from({ length: writer % 5 }, (_, index) => `t${index}`) },
    }));
    const responses = await Promise.all(bodies.map((body) => request("PUT", `items/${id}`, { json: body })));
    for (const response of responses) {
      expect(response.status, response.text).to.equal(200);
    }
    const final = await request("GET", `items/${id}`);
    const matching = bodies.filter((body) => canonicalJson(clientFields(final.json)) === canonicalJson(body));
    const versions = responses.map(versionOf).sort((a, b) => a - b);
    const last = responses.find((response) => response.json.version === final.json.version);
    report(
      `no If-Match PUT: ${WRITERS} writes attempted, ${responses.length} answered 200, final state = writer ` +
        `${final.json.writer}'s body (${WRITERS - 1} overwritten by design), version ${final.json.version}`,
    );
    expect(matching).to.have.length(1);
    expect(clientFields(final.json)).to.deep.equal(matching[0]);
    // Every write applied atomically on top of the previous one, and the last applied is what is stored.
    expect(versions).to.deep.equal(Array.from({ length: WRITERS }, (_, index) => 2 + index));
    expect(final.json.version).to.equal(1 + WRITERS);
    expect(last?.json).to.deep.equal(final.json);
  });

  it("without If-Match (PATCH of distinct attributes): every writer's change is kept", async () => {
    const created = await createItem({ name: "merged", markers: {} });
    const id: string = created.json.id;
    const responses = await Promise.all(
      Array.from({ length: WRITERS }, (_, writer) =>
        request("PATCH", `items/${id}`, { json: { markers: { [`w${writer}`]: writer } } }),
      ),
    );
    for (const response of responses) {
      expect(response.status, response.text).to.equal(200);
    }
    const final = await request("GET", `items/${id}`);
    const markers = final.json.markers as Record<string, number>;
    const lost = Array.from({ length: WRITERS }, (_, writer) => writer).filter((w) => markers[`w${w}`] !== w).length;
    report(`no If-Match PATCH: ${WRITERS} writes attempted, ${lost} lost; final version ${final.json.version}`);
    expect(lost).to.equal(0);
    expect(final.json.version).to.equal(1 + WRITERS);
  });
});
