/**
 * 50 concurrent writers on one item, over HTTP to the local runtime (in process; the engine in a
 * process of its own):
 * - with If-Match, each writer reads, writes with the ETag it read and retries on 412 until it
 *   succeeds: no update is lost, the final version is 1 + the number of successful writes, and
 *   versions only ever increase;
 * - without If-Match (last writer wins), the final state is exactly one of the writes, and
 *   PATCHes of every kind all land.
 *
 * An answer is the item right after its write, or, when the SDK retried an attempt DynamoDB had
 * applied (its answer lost to a timeout on a loaded machine) and the retry found the request's
 * own write token, the item as it stands then: never older than the write. So exactness is
 * asserted on what was written (versions produced, final version, every change kept), and
 * answers only as bounds.
 */
import { expect } from "chai";
import { LocalApi, startLocalApi } from "../../local/server";
import { apiUserHeaders } from "../support/users";
import { readStackSettings } from "../../local/stack-settings";
import { EngineProcess, startEngineProcess } from "../support/engine-process";
import { ApiResponse, Request, client } from "../support/http-client";
import { canonicalJson } from "../support/reliability-store";

const WRITERS = 50;
/** A writer gives up after this many 412s; far above what 50 writers need, so it only stops a livelock. */
const MAX_ATTEMPTS_PER_WRITER = 500;
const SERVER_FIELDS = ["id", "version", "createdAt", "updatedAt"];

interface WriterLog {
  /** Versions this writer read, in order. */
  read: number[];
  /** The version its successful write produced: If-Match named exactly the one before. */
  produced: number;
  /** The version its successful write was answered with (`produced`, or later after a retry). */
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
  let engine: EngineProcess;
  let api: LocalApi;
  let request: Request;
  let user: Record<string, string>;

  before(async () => {
    engine = await startEngineProcess();
    api = await startLocalApi({
      settings: readStackSettings("dev"),
      stack: "dev",
      dynamoDbEndpoint: engine.endpoint,
      accessLog: () => undefined,
    });
    user = await apiUserHeaders(api);
    request = client(api.url, user);
  });

  after(async () => {
    await api?.close();
    await engine?.stop();
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
    const log: WriterLog = { read: [], produced: 0, wrote: 0, attempts: 0, conflicts: 0 };
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
      log.produced = version + 1;
      log.wrote = versionOf(written);
      expect(log.wrote).to.be.at.least(log.produced);
      return log;
    }
    throw new Error(`writer gave up after ${MAX_ATTEMPTS_PER_WRITER} conflicts`);
  }

  function expectVersionsIncreasing(logs: WriterLog[], initialVersion: number): void {
    const produced = logs.map((log) => log.produced).sort((a, b) => a - b);
    // Each successful write produced its own version: initial+1 .. initial+WRITERS, no gaps, no repeats.
    expect(produced).to.deep.equal(Array.from({ length: WRITERS }, (_, index) => initialVersion + 1 + index));
    for (const log of logs) {
      // What one writer observed never went backwards, and its write came after all it read.
      for (let index = 1; index < log.read.length; index++) {
        expect(log.read[index]).to.be.at.least(log.read[index - 1] ?? 0);
      }
      expect(log.produced).to.be.greaterThan(Math.max(...log.read));
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
      expect(markers[`w${writer}`]).to.equal(log.produced);
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
    // Fifty writes applied, once each (every 200 is an applied write), the last one is what is
    // stored, and no answer is older than a write.
    expect(final.json.version).to.equal(1 + WRITERS);
    expect(versions[0]).to.be.at.least(2);
    expect(versions[versions.length - 1]).to.equal(1 + WRITERS);
    expect(last?.json).to.deep.equal(final.json);
  });

  /**
   * One kind of PATCH without If-Match, 50 writers at once on one item: the body of writer `w`
   * and, read from the final item, what each writer must have left there.
   */
  interface PatchKind {
    name: string;
    initial: Record<string, unknown>;
    patch: (writer: number) => Record<string, unknown>;
    kept: (final: Record<string, unknown>, writer: number) => boolean;
    /** A function timeout other than the dev stack's (10 s), and why. */
    functionTimeoutMs?: number;
  }

  const markerOf = (final: Record<string, unknown>, writer: number): unknown =>
    (final.markers as Record<string, unknown> | undefined)?.[`w${writer}`];
  /** More changed paths than one DynamoDB update expression (4 KB) holds: merged in memory. */
  const LARGE_PATCH_KEYS = 250;
  const PATCH_KINDS: PatchKind[] = [
    {
      name: "merged into a map, one update each",
      initial: { name: "kinds", markers: {} },
      patch: (writer) => ({ markers: { [`w${writer}`]: writer } }),
      kept: (final, writer) => markerOf(final, writer) === writer,
    },
    {
      name: "an object over a string (RFC 7396 replaces it, then the others merge)",
      initial: { name: "kinds", markers: "a string" },
      patch: (writer) => ({ markers: { [`w${writer}`]: writer } }),
      kept: (final, writer) => markerOf(final, writer) === writer,
    },
    {
      name: "a new object-valued attribute each",
      initial: { name: "kinds" },
      patch: (writer) => ({ [`o${writer}`]: { writer } }),
      kept: (final, writer) => JSON.stringify(final[`o${writer}`]) === JSON.stringify({ writer }),
    },
    {
      name: "at the 50-attribute limit, one existing attribute each",
      initial: {
        name: "kinds",
        ...Object.fromEntries(Array.from({ length: WRITERS }, (_, writer) => [`a${writer}`, -1])),
      },
      patch: (writer) => ({ [`a${writer}`]: writer }),
      kept: (final, writer) => final[`a${writer}`] === writer,
    },
    {
      name: `too large for one update expression (${LARGE_PATCH_KEYS} nested keys, merged in memory)`,
      initial: { name: "kinds", markers: {}, shared: {} },
      patch: (writer) => ({
        markers: { [`w${writer}`]: writer },
        shared: Object.fromEntries(Array.from({ length: LARGE_PATCH_KEYS }, (_, key) => [`k${key}`, writer])),
      }),
      kept: (final, writer) => markerOf(final, writer) === writer,
      // Each round reads and writes the whole 250-key map, 50 writers contend on one version,
      // and here the engine, the runtime and every function share two loaded cores: the rounds
      // need longer than the dev stack's 10 s. 28 s is the most a stack may configure.
      functionTimeoutMs: 28000,
    },
  ];

  for (const kind of PATCH_KINDS) {
    it(`without If-Match (PATCH, ${kind.name}): all ${WRITERS} answered 200, every change kept`, async () => {
      const created = await createItem(kind.initial);
      const id: string = created.json.id;
      const slower =
        kind.functionTimeoutMs === undefined
          ? undefined
          : await startLocalApi({
              settings: readStackSettings("dev"),
              stack: "dev",
              dynamoDbEndpoint: engine.endpoint,
              timeoutMs: kind.functionTimeoutMs,
              accessLog: () => undefined,
            });
      // The same user: the slower runtime's issuer is its own, the same sub for the same name.
      const patchRequest = slower === undefined ? request : client(slower.url, await apiUserHeaders(slower));
      const started = Date.now();
      const responses = await Promise.all(
        Array.from({ length: WRITERS }, (_, writer) =>
          patchRequest("PATCH", `items/${id}`, { json: kind.patch(writer) }),
        ),
      ).finally(() => slower?.close());
      const elapsedMs = Date.now() - started;
      const failed = responses.filter((response) => response.status !== 200);
      const final = await request("GET", `items/${id}`);
      const lost = Array.from({ length: WRITERS }, (_, writer) => writer).filter(
        (writer) => !kind.kept(final.json, writer),
      );
      report(
        `no If-Match PATCH, ${kind.name}: ${WRITERS} writes, ${WRITERS - failed.length} answered 200, ` +
          `${lost.length} lost, final version ${final.json.version}, ${elapsedMs} ms`,
      );
      expect(failed.map((response) => `${response.status} ${response.text}`)).to.deep.equal([]);
      expect(lost).to.deep.equal([]);
      // Fifty writes applied, once each: every 200 is an applied write, and the final version
      // counts them. No answer is older than its write.
      const versions = responses.map(versionOf).sort((a, b) => a - b);
      expect(final.json.version).to.equal(1 + WRITERS);
      expect(versions[0]).to.be.at.least(2);
      expect(versions[versions.length - 1]).to.equal(1 + WRITERS);
    });
  }
});
