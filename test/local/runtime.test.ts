/**
 * The local runtime itself (DESIGN §4): the ready line, persistence across restarts, clean
 * shutdown on SIGTERM/SIGINT, the Lambda timeout, API keys, CORS, API Gateway's 10 MB limit
 * and /openapi.json.
 */
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { basename, dirname, join } from "path";
import { expect } from "chai";
import type { ProxyHandler } from "../../handlers/http";
import { buildOpenApiDocument } from "../../infra/openapi";
import { routes } from "../../infra/routes";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { expectError } from "../contract/contract";
import { client } from "../support/http-client";
import { startApiProcess } from "../support/process";

const dev = readStackSettings("dev");
const prod = readStackSettings("prod");
const quiet = { accessLog: () => undefined };

describe("local runtime", function () {
  this.timeout(60000);

  describe("npm start", () => {
    let dataDir: string;
    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), "items-api-data-"));
    });
    afterEach(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("prints the ready line, logs one JSON line per request, and keeps data across a SIGTERM restart", async () => {
      const first = await startApiProcess({ DATA_DIR: dataDir });
      expect(first.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const api = client(first.url);
      const created = await api("POST", "items", { json: { name: "durable", status: "kept" } });
      expect(created.status).to.equal(201);
      await api("GET", "nowhere");
      first.child.kill("SIGTERM");
      expect(await first.exited).to.equal(0);
      const lines = first
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line));
      expect(lines.map((line) => [line.method, line.path, line.status])).to.deep.equal([
        ["POST", "/items", 201],
        ["GET", "/nowhere", 404],
      ]);
      expect(lines[0]).to.include({ operationId: "createItem" });
      expect(lines[0].requestId).to.equal(created.headers.get("x-request-id"));

      const second = await startApiProcess({ DATA_DIR: dataDir });
      const fetched = await client(second.url)("GET", `items/${created.json.id}`);
      expect(fetched.json).to.deep.equal(created.json);
      second.child.kill("SIGINT");
      expect(await second.exited).to.equal(0);
    });

    it("finishes requests in flight on SIGTERM: every acknowledged create survives", async () => {
      const running = await startApiProcess({ DATA_DIR: dataDir });
      const api = client(running.url);
      const burst = Array.from({ length: 40 }, (_, index) =>
        api("POST", "items", { json: { name: `burst ${index}` } }).catch(() => undefined),
      );
      setTimeout(() => running.child.kill("SIGTERM"), 15);
      const responses = await Promise.all(burst);
      expect(await running.exited).to.equal(0);
      // Each request was either answered 201 or refused at connect time once the server closed.
      expect(responses.every((response) => response === undefined || response.status === 201)).to.equal(true);
      const acknowledged = responses.filter((response) => response?.status === 201).map((response) => response?.json);
      expect(acknowledged.length).to.be.greaterThan(0);
      const restarted = await startApiProcess({ DATA_DIR: dataDir });
      const again = client(restarted.url);
      for (const item of acknowledged) {
        expect((await again("GET", `items/${item.id}`)).json).to.deep.equal(item);
      }
      restarted.child.kill("SIGTERM");
      await restarted.exited;
    });

    it("applies another stack's settings with --stack", async () => {
      const running = await startApiProcess({ DATA_DIR: dataDir }, ["--stack", "prod"]);
      expect(running.apiKey).to.be.a("string");
      expect(running.output()).to.contain("stack: prod");
      expectError(await client(running.url)("GET", "items"), 403, "forbidden");
      expect((await client(running.url, { "x-api-key": running.apiKey ?? "" })("GET", "items")).status).to.equal(200);
      running.child.kill("SIGTERM");
      expect(await running.exited).to.equal(0);
    });

    it("fails with a clear message for an unknown stack", async () => {
      let failure = "";
      await startApiProcess({ DATA_DIR: dataDir }, ["--stack", "nope"]).catch(
        (error: Error) => (failure = error.message),
      );
      expect(failure).to.contain('no settings for stack "nope": Pulumi.nope.yaml not found');
    });
  });

  describe("API Gateway behaviour", () => {
    let api: LocalApi | undefined;
    afterEach(async () => {
      await api?.close();
      api = undefined;
    });

    function withHandler(operationId: string, handler: ProxyHandler) {
      const handlers = Object.fromEntries(routes.map((route) => [route.operationId, handler]));
      return { ...handlers, [operationId]: handler };
    }

    it("answers 504 gateway_timeout when the handler outlives the function timeout", async () => {
      const slow: ProxyHandler = () =>
        new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: "{}" }), 1000));
      api = await startLocalApi({ settings: dev, ...quiet, timeoutMs: 100, handlers: withHandler("listItems", slow) });
      const started = Date.now();
      expectError(await client(api.url)("GET", "items"), 504, "gateway_timeout");
      expect(Date.now() - started).to.be.below(900);
    });

    it("answers 502 bad_gateway when the handler throws or returns a malformed result", async () => {
      const throwing: ProxyHandler = () => Promise.reject(new Error("boom"));
      api = await startLocalApi({ settings: dev, ...quiet, handlers: withHandler("listItems", throwing) });
      const thrown = await client(api.url)("GET", "items");
      expectError(thrown, 502, "bad_gateway");
      expect(thrown.text).not.to.contain("boom");
      await api.close();
      const malformed = (() => Promise.resolve({ status: 200 })) as unknown as ProxyHandler;
      api = await startLocalApi({ settings: dev, ...quiet, handlers: withHandler("listItems", malformed) });
      expectError(await client(api.url)("GET", "items"), 502, "bad_gateway");
    });

    it("requires the API key when the stack does", async () => {
      api = await startLocalApi({ settings: prod, ...quiet, apiKey: "k".repeat(30) });
      expect(api.apiKey).to.equal("k".repeat(30));
      expectError(await client(api.url)("POST", "items", { json: { name: "x" } }), 403, "forbidden");
      expectError(await client(api.url, { "x-api-key": "wrong" })("GET", "items"), 403, "forbidden");
      const authorized = client(api.url, { "x-api-key": "k".repeat(30) });
      expect((await authorized("POST", "items", { json: { name: "x" } })).status).to.equal(201);
      expectError(await authorized("GET", "nowhere"), 404, "not_found");
    });

    it("answers CORS preflights and adds CORS headers for allowed origins only", async () => {
      api = await startLocalApi({ settings: prod, ...quiet, apiKey: "key" });
      const anonymous = client(api.url);
      const preflight = await anonymous("OPTIONS", "items", {
        headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "POST" },
      });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
      expect(preflight.headers.get("access-control-allow-methods")).to.equal("POST, GET, OPTIONS");
      expect(preflight.headers.get("access-control-allow-headers")).to.equal(
        "Content-Type, If-Match, If-None-Match, Idempotency-Key, x-api-key, x-correlation-id",
      );
      const foreign = await anonymous("OPTIONS", "items", { headers: { Origin: "https://evil.example.com" } });
      expect(foreign.status).to.equal(204);
      expect(foreign.headers.get("access-control-allow-origin")).to.equal(null);
      const keyed = client(api.url, { "x-api-key": "key", Origin: "https://app.example.com" });
      const created = await keyed("POST", "items", { json: { name: "x" } });
      expect(created.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
      expect(created.headers.get("vary")).to.equal("Origin");
      expect(created.headers.get("access-control-expose-headers")).to.equal(
        "ETag, Location, Retry-After, x-request-id, x-correlation-id",
      );
      const denied = await client(api.url, { Origin: "https://app.example.com" })("GET", "items");
      expectError(denied, 403, "forbidden");
      expect(denied.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
      const evil = await client(api.url, { "x-api-key": "key", Origin: "https://evil.example.com" })("GET", "items");
      expect(evil.status).to.equal(200);
      expect(evil.headers.get("access-control-allow-origin")).to.equal(null);
    });

    it("allows any origin where the stack says *", async () => {
      api = await startLocalApi({ settings: dev, ...quiet });
      const response = await client(api.url, { Origin: "http://localhost:5173" })("GET", "items");
      expect(response.headers.get("access-control-allow-origin")).to.equal("*");
    });

    it("refuses requests over API Gateway's 10 MB with 413", async () => {
      api = await startLocalApi({ settings: dev, ...quiet });
      const response = await client(api.url)("POST", "items", {
        raw: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
        contentType: "application/json",
      });
      expectError(response, 413, "payload_too_large");
    });

    it("serves the OpenAPI document of the stack at /openapi.json", async () => {
      api = await startLocalApi({ settings: prod, ...quiet, apiKey: "key" });
      const response = await client(api.url)("GET", "openapi.json");
      expect(response.status).to.equal(200);
      expect(response.json).to.deep.equal(buildOpenApiDocument({ apiKeyRequired: true }));
      expect(Object.keys(response.json.paths)).to.deep.equal(["/items", "/items/{id}"]);
    });

    it("serves an API reference at /docs with every asset from npm", async () => {
      api = await startLocalApi({ settings: dev, ...quiet });
      const page = await client(api.url)("GET", "docs");
      expect(page.status).to.equal(200);
      expect(page.headers.get("content-type")).to.equal("text/html; charset=utf-8");
      const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
      expect(assets).to.deep.equal([
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui-standalone-preset.js",
      ]);
      expect(page.text).to.contain('url: "/openapi.json"');
      for (const asset of assets) {
        const response = await fetch(new URL(asset ?? "", api.url));
        expect(response.status, asset).to.equal(200);
        const served = Buffer.from(await response.arrayBuffer());
        const file = readFileSync(
          join(dirname(require.resolve("swagger-ui-dist/package.json")), basename(asset ?? "")),
        );
        expect(served.equals(file), asset).to.equal(true);
      }
      expectError(await client(api.url)("GET", "docs/assets/package.json"), 404, "not_found");
      expectError(await client(api.url)("GET", "docs/assets/..%2Fpackage.json"), 404, "not_found");
    });

    it("hands handlers an API Gateway v1 proxy event and a Lambda-like context", async () => {
      let seen: { event: unknown; remaining: number; requestId: string } | undefined;
      const recorder: ProxyHandler = async (event, context) => {
        seen = { event, remaining: context.getRemainingTimeInMillis(), requestId: context.awsRequestId };
        return { statusCode: 200, body: "{}" };
      };
      api = await startLocalApi({
        settings: dev,
        ...quiet,
        timeoutMs: 5000,
        handlers: withHandler("getItem", recorder),
      });
      const response = await client(api.url)("GET", "items/abc%20d?x=1&x=2&y=3", { headers: { "X-Custom": "v" } });
      expect(response.status).to.equal(200);
      const event = seen?.event as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(event).to.include({
        resource: "/items/{id}",
        path: "/items/abc%20d",
        httpMethod: "GET",
        body: null,
        isBase64Encoded: false,
      });
      expect(event.pathParameters).to.deep.equal({ id: "abc d" });
      expect(event.queryStringParameters).to.deep.equal({ x: "2", y: "3" });
      expect(event.multiValueQueryStringParameters).to.deep.equal({ x: ["1", "2"], y: ["3"] });
      expect(event.headers["X-Custom"]).to.equal("v");
      expect(event.multiValueHeaders["X-Custom"]).to.deep.equal(["v"]);
      expect(event.requestContext).to.include({ stage: "local", resourcePath: "/items/{id}", httpMethod: "GET" });
      expect(event.requestContext.requestId).to.equal(response.headers.get("x-request-id"));
      expect(seen?.remaining).to.be.within(4000, 5000);
      expect(seen?.requestId).to.match(/^[0-9a-f-]{36}$/);
    });
  });
});
