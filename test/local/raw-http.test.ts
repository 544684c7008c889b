/**
 * Responses the local runtime makes itself, not the document: its own pages, faults, requests
 * Node's HTTP parser refuses, clients that go away; and its cursor secret.
 */
import { mkdtempSync, rmSync, statSync } from "fs";
import { connect } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { expectError } from "../contract/contract";
import { client } from "../support/http-client";
import { withoutSignIn } from "../support/users";

/** Sends bytes as they are and returns what came back, once the server closes or goes quiet. */
function rawExchange(url: string, request: string | Buffer, options: { abort?: boolean } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    // The server closes the connection after its answer (HTTP/1.0, or a refused request).
    socket.write(request, () => (options.abort === true ? socket.destroy() : undefined));
  });
}

function parseResponse(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = "", body = ""] = raw.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

describe("local runtime: responses it makes itself", function () {
  this.timeout(30000);
  let api: LocalApi | undefined;
  const lines: string[] = [];
  /** Called with each access-log line as it is written. */
  let onLine: () => void = () => undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
    lines.length = 0;
  });

  async function start(stack = "dev", dataDir?: string): Promise<LocalApi> {
    api = await startLocalApi({
      // Without sign-in: these are the runtime's own answers, whoever calls.
      settings: withoutSignIn(readStackSettings(stack)),
      stack,
      dataDir,
      accessLog: (line) => {
        lines.push(line);
        onLine();
      },
    });
    return api;
  }

  /** Resolves once the access log holds `count` lines. */
  function logLines(count: number): Promise<void> {
    return new Promise((resolve) => {
      onLine = () => {
        if (lines.length >= count) {
          resolve();
        }
      };
      onLine();
    });
  }

  it("gives its own pages x-request-id and the security headers", async () => {
    const { url } = await start("prod");
    for (const path of ["docs", "docs/assets/swagger-ui.css"]) {
      const response = await client(url)("GET", path);
      expect(response.status, path).to.equal(200);
      expect(response.headers.get("x-request-id"), path).to.match(/^[0-9a-f-]{36}$/);
      expect(response.headers.get("x-content-type-options"), path).to.equal("nosniff");
      expect(response.headers.get("cache-control"), path).to.equal("no-store");
    }
    // /openapi.json is the API's own (a mock integration in the body, as deployed), keyless on prod.
    const document = await client(url)("GET", "openapi.json");
    expect(document.status).to.equal(200);
    expect(document.headers.get("x-request-id")).to.equal(document.headers.get("x-amz-apigw-id"));
    expect(document.headers.get("x-content-type-options")).to.equal("nosniff");
    expect(document.headers.get("cache-control")).to.equal("no-store");
  });

  it("answers requests Node's parser refuses with the envelope", async () => {
    const { url } = await start();
    for (const request of [
      "GE T /items HTTP/1.1\r\nHost: x\r\n\r\n",
      `GET /items HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`,
      "GET /items HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    ]) {
      const response = parseResponse(await rawExchange(url, request));
      expect(response.status, request.slice(0, 20)).to.equal(400);
      expect(response.headers["content-type"]).to.equal("application/json");
      expect(response.headers["x-content-type-options"]).to.equal("nosniff");
      const body = JSON.parse(response.body) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).to.equal("validation_failed");
      expect(body.error.requestId).to.equal(response.headers["x-request-id"]);
    }
    expect(lines.map((line) => (JSON.parse(line) as { level?: string }).level)).to.deep.equal(["info", "info", "info"]);
  });

  it("answers what Node would answer bare (no Host, an Expect, CONNECT, an absolute-form target) in the envelope", async () => {
    const { url } = await start();
    const { host } = new URL(url);
    const envelopeOf = (raw: string, status: number, code: string) => {
      const response = parseResponse(raw);
      expect(response.status, raw.slice(0, 40)).to.equal(status);
      expect(response.headers["x-content-type-options"], raw.slice(0, 40)).to.equal("nosniff");
      expect(response.headers["cache-control"], raw.slice(0, 40)).to.equal("no-store");
      const body = JSON.parse(response.body.replace(/^[0-9a-f]+\r\n|\r\n0(\r\n)*$/g, "")) as {
        error: { code: string; requestId: string };
      };
      expect(body.error.code, raw.slice(0, 40)).to.equal(code);
      expect(body.error.requestId).to.equal(response.headers["x-request-id"] ?? response.headers["x-amz-apigw-id"]);
      return response;
    };
    // RFC 9112 §3.2: an HTTP/1.1 request without Host MUST be answered 400.
    envelopeOf(await rawExchange(url, "GET /items HTTP/1.1\r\nConnection: close\r\n\r\n"), 400, "validation_failed");
    // CONNECT: an authority-form target names no resource; on a known path the method is not allowed.
    envelopeOf(await rawExchange(url, `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`), 404, "not_found");
    const connect = envelopeOf(
      await rawExchange(url, `CONNECT /items HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      405,
      "method_not_allowed",
    );
    expect(connect.headers.allow).to.equal("POST, GET, HEAD, OPTIONS");
    // An expectation other than 100-continue is ignored (RFC 9110 §10.1.1 allows a 417, not requires it).
    const expecting = parseResponse(
      await rawExchange(
        url,
        `GET /items?limit=1 HTTP/1.1\r\nHost: ${host}\r\nExpect: foo\r\nConnection: close\r\n\r\n`,
      ),
    );
    expect(expecting.status).to.equal(200);
    // RFC 9112 §3.2.2: a server MUST accept the absolute form.
    const absolute = parseResponse(
      await rawExchange(url, `GET ${url}items?limit=1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    expect(absolute.status).to.equal(200);
    expect(absolute.headers["content-type"]).to.equal("application/json");
  });

  it("builds Location from its own address, also for an HTTP/1.0 request without Host", async () => {
    const { url } = await start();
    const body = '{"name":"old client"}';
    const raw = await rawExchange(
      url,
      `POST /items HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const response = parseResponse(raw);
    expect(response.status).to.equal(201);
    const id = (JSON.parse(response.body) as { id: string }).id;
    expect(response.headers.location).to.equal(`${url}items/${id}`);
  });

  it("logs a client that goes away mid-upload at info, and answers the next request", async () => {
    const { url } = await start();
    await rawExchange(
      url,
      'POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name"',
      { abort: true },
    );
    // The line the runtime writes once it sees the connection close, not a guess at how long that takes.
    await logLines(1);
    const levels = lines.map((line) => JSON.parse(line) as { level?: string; message?: string });
    expect(levels.map((entry) => [entry.level, entry.message])).to.deep.equal([
      ["info", "the client closed the connection before its body arrived"],
    ]);
    expect((await client(url)("GET", "items")).status).to.equal(200);
  });

  it("keeps a cursor secret per stack and data directory, beside the data", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "items-api-cursor-"));
    const previous = process.env.CURSOR_SECRET;
    delete process.env.CURSOR_SECRET;
    try {
      let { url } = await start("dev", dataDir);
      for (const name of ["a", "b", "c"]) {
        await client(url)("POST", "items", { json: { name } });
      }
      const cursor = String((await client(url)("GET", "items?limit=1")).json.nextCursor);
      await api?.close();
      ({ url } = await start("dev", dataDir));
      expect((await client(url)("GET", `items?limit=1&cursor=${cursor}`)).status).to.equal(200);
      expect(statSync(join(dataDir, "cursor-secret-dev")).mode & 0o777).to.equal(0o600);
      await api?.close();
      ({ url } = await start("prod", dataDir));
      const foreign = await client(url, { "x-api-key": String(api?.apiKey) })("GET", `items?limit=1&cursor=${cursor}`);
      expectError(foreign, 400, "invalid_cursor");
    } finally {
      if (previous !== undefined) {
        process.env.CURSOR_SECRET = previous;
      }
      await api?.close();
      api = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
