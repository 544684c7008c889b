/**
 * The local runtime itself (README, "Local runtime and AWS"): the ready line, persistence across restarts, clean
 * shutdown on SIGTERM/SIGINT, the Lambda timeout, API keys, CORS and API Gateway's 10 MB limit.
 * What /openapi.json serves is tested once, byte for byte, in export-openapi.test.ts.
 */
import { once } from "events";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { request } from "http";
import { tmpdir } from "os";
import { basename, dirname, join } from "path";
import { expect } from "chai";
import type { ProxyHandler } from "../../handlers/http";
import { OpenApiDocument } from "../../infra/openapi";
import { routes } from "../../infra/routes";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { expectError } from "../contract/contract";
import { corsRequestHeaders, headerNames } from "../infra/expectations";
import { ApiResponse, client } from "../support/http-client";
import { killLeftoverApiProcesses, startApiProcess } from "../support/process";
import { userHeaders, withoutSignIn } from "../support/users";

/** The stacks' settings without sign-in: the in-process tests below are about the gateway, not who calls. */
const dev = withoutSignIn(readStackSettings("dev"));
const prod = withoutSignIn(readStackSettings("prod"));
const quiet = { accessLog: () => undefined };

describe("local runtime", function () {
  this.timeout(60000);

  describe("npm start", () => {
    let dataDir: string;
    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), "items-api-data-"));
    });
    afterEach(async () => {
      await killLeftoverApiProcesses();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("prints the ready line, logs one JSON line per request, and keeps data across a SIGTERM restart", async () => {
      const first = await startApiProcess({ DATA_DIR: dataDir });
      expect(first.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const user = await userHeaders("dev", dataDir);
      const api = client(first.url, user);
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
      const fetched = await client(second.url, user)("GET", `items/${created.json.id}`);
      expect(fetched.json).to.deep.equal(created.json);
      second.child.kill("SIGINT");
      expect(await second.exited).to.equal(0);
    });

    it("finishes requests in flight on SIGTERM: one held open across the signal is answered, every acknowledged create survives", async () => {
      const running = await startApiProcess({ DATA_DIR: dataDir });
      const user = await userHeaders("dev", dataDir);
      const api = client(running.url, user);
      const events: string[] = [];
      // A create whose headers the server has read (it answered 100 Continue) and whose body
      // follows only once the server has taken the signal: in flight across it, by construction.
      const body = JSON.stringify({ name: "held across the signal" });
      const held = request(new URL("items", running.url), {
        method: "POST",
        headers: {
          ...user,
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
          Expect: "100-continue",
        },
      });
      const heldAnswer = new Promise<{ status: number; json: { id: string } }>((resolve, reject) => {
        held.on("response", (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            events.push("held request answered");
            resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
          });
        });
        held.on("error", reject);
      });
      held.flushHeaders();
      // A burst beside it, some of it answered before the signal, some after or refused.
      const burst = Array.from({ length: 20 }, (_, index) =>
        api("POST", "items", { json: { name: `burst ${index}` } }).then(
          (response) => response,
          () => undefined,
        ),
      );
      await once(held, "continue");
      events.push("held request read by the server");
      running.child.kill("SIGTERM");
      await running.waitForOutput(/^SIGTERM: /m);
      events.push("signal taken");
      held.end(body);
      const answer = await heldAnswer;
      const responses = await Promise.all(burst);
      expect(await running.exited).to.equal(0);
      expect(events).to.deep.equal(["held request read by the server", "signal taken", "held request answered"]);
      expect(answer.status).to.equal(201);
      // Each burst request was either answered 201 or refused at connect time once the server closed.
      expect(responses.every((response) => response === undefined || response.status === 201)).to.equal(true);
      const acknowledged = [
        answer.json,
        ...responses.filter((response) => response?.status === 201).map((response) => response?.json),
      ];
      const restarted = await startApiProcess({ DATA_DIR: dataDir });
      const again = client(restarted.url, user);
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
      const user = await userHeaders("prod", dataDir);
      expectError(await client(running.url, user)("GET", "items"), 403, "forbidden");
      const keyed = client(running.url, { ...user, "x-api-key": running.apiKey ?? "" });
      expect((await keyed("GET", "items")).status).to.equal(200);
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

    /** The document's INTEGRATION_FAILURE: 503 with Retry-After, whatever Lambda's cause. */
    function expectIntegrationFailure(response: ApiResponse): void {
      expectError(response, 503, "unavailable");
      expect(response.headers.get("retry-after")).to.equal("1");
    }

    function withHandler(operationId: string, handler: ProxyHandler) {
      const handlers = Object.fromEntries(routes.map((route) => [route.operationId, handler]));
      return { ...handlers, [operationId]: handler };
    }

    /** The body with one change to the listItems integration. */
    function listIntegration(change: Record<string, unknown>) {
      return (body: OpenApiDocument): OpenApiDocument => {
        const list = body.paths["/items"]?.get as Record<string, Record<string, unknown>>;
        list["x-amazon-apigateway-integration"] = { ...list["x-amazon-apigateway-integration"], ...change };
        return body;
      };
    }
    const slow: ProxyHandler = () =>
      new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: "{}" }), 1000));

    it("answers INTEGRATION_FAILURE (503 unavailable, Retry-After) when the function runs past its own timeout", async () => {
      // A function that answers only when the test lets it: the 503 can only come from its timeout.
      const events: string[] = [];
      let deadlineMs = NaN;
      let finish: () => void = () => undefined;
      const held: ProxyHandler = (_event, context) => {
        events.push("function started");
        deadlineMs = context.getRemainingTimeInMillis();
        return new Promise((resolve) => (finish = () => resolve({ statusCode: 200, body: "{}" })));
      };
      api = await startLocalApi({ settings: dev, ...quiet, timeoutMs: 100, handlers: withHandler("listItems", held) });
      const response = await client(api.url)("GET", "items");
      events.push("answered");
      finish();
      expectIntegrationFailure(response);
      expect(events).to.deep.equal(["function started", "answered"]);
      // The deadline the function was given: its own timeout, not the integration's 29 s.
      expect(deadlineMs).to.be.within(1, 100);
    });

    it("answers 504 gateway_timeout when the integration's own timeout (timeoutInMillis) comes first", async () => {
      api = await startLocalApi({
        settings: dev,
        ...quiet,
        timeoutMs: 5000,
        handlers: withHandler("listItems", slow),
        transformBody: listIntegration({ timeoutInMillis: 100 }),
      });
      expectError(await client(api.url)("GET", "items"), 504, "gateway_timeout");
    });

    it("answers INTEGRATION_FAILURE when the handler throws, returns a malformed result or one over Lambda's 6 MB", async () => {
      const throwing: ProxyHandler = () => Promise.reject(new Error("boom"));
      api = await startLocalApi({ settings: dev, ...quiet, handlers: withHandler("listItems", throwing) });
      const thrown = await client(api.url)("GET", "items");
      expectIntegrationFailure(thrown);
      expect(thrown.text).not.to.contain("boom");
      await api.close();
      const malformed = (() => Promise.resolve({ status: 200 })) as unknown as ProxyHandler;
      api = await startLocalApi({ settings: dev, ...quiet, handlers: withHandler("listItems", malformed) });
      expectIntegrationFailure(await client(api.url)("GET", "items"));
      await api.close();
      // A result Lambda cannot return: its JSON is one byte over 6 MiB (the \u0001 escapes to six).
      const oversized = (length: number): ProxyHandler => {
        const result = { statusCode: 200, body: "" };
        const overhead = Buffer.byteLength(JSON.stringify(result));
        return () => Promise.resolve({ ...result, body: "\u0001" + "a".repeat(length - overhead - 6) });
      };
      api = await startLocalApi({
        settings: dev,
        ...quiet,
        handlers: withHandler("listItems", oversized(6 * 1024 * 1024 + 1)),
      });
      expectIntegrationFailure(await client(api.url)("GET", "items"));
      await api.close();
      api = await startLocalApi({
        settings: dev,
        ...quiet,
        handlers: withHandler("listItems", oversized(6 * 1024 * 1024)),
      });
      expect((await client(api.url)("GET", "items")).status).to.equal(200);
    });

    it("requires the API key on all six operations of prod's document, and never on preflights or 405s", async () => {
      api = await startLocalApi({ settings: prod, stack: "prod", ...quiet, apiKey: "k".repeat(30) });
      expect(api.apiKey).to.equal("k".repeat(30));
      const anonymous = client(api.url);
      const wrongKey = client(api.url, { "x-api-key": "wrong" });
      const authorized = client(api.url, { "x-api-key": "k".repeat(30) });
      const { json: item } = await authorized("POST", "items", { json: { name: "x" } });
      for (const route of routes) {
        const path = route.path.replace("{id}", String(item.id)).slice(1);
        const options = route.requestSchema === undefined ? {} : { json: { name: "y" } };
        expectError(await anonymous(route.method, path, options), 403, "forbidden");
        expectError(await wrongKey(route.method, path, options), 403, "forbidden");
      }
      expect((await anonymous("OPTIONS", "items")).status).to.equal(204);
      expectError(await anonymous("POST", `items/${String(item.id)}`), 405, "method_not_allowed");
      expectError(await authorized("GET", "nowhere"), 404, "not_found");
      expect((await authorized("GET", `items/${String(item.id)}`)).status).to.equal(200);
    });

    it("applies only operation-level security: a document with root-level security alone requires no key (AWS's rule)", async () => {
      const rootOnly = (body: OpenApiDocument): OpenApiDocument => {
        for (const operations of Object.values(body.paths)) {
          for (const operation of Object.values(operations) as Record<string, unknown>[]) {
            delete operation.security;
          }
        }
        return { ...body, security: [{ api_key: [] }] };
      };
      let refusal = "";
      await startLocalApi({ settings: prod, ...quiet, transformBody: rootOnly }).then(
        (started) => started.close(),
        (error: unknown) => (refusal = String(error)),
      );
      expect(refusal).to.contain("#/security: root-level security is ignored");
      api = await startLocalApi({ settings: prod, ...quiet, transformBody: rootOnly, acceptImportFindings: true });
      expect((await client(api.url)("POST", "items", { json: { name: "no key" } })).status).to.equal(201);
    });

    it("refuses to start on a model keyword API Gateway drops, naming its place in the document", async () => {
      const withPatternProperties = (body: OpenApiDocument): OpenApiDocument => {
        const schemas = body.components.schemas as Record<string, Record<string, unknown>>;
        schemas.NewItem = { ...schemas.NewItem, patternProperties: { "^[a-z]+$": {} }, additionalProperties: false };
        return body;
      };
      let refusal = "";
      await startLocalApi({ settings: dev, ...quiet, transformBody: withPatternProperties }).then(
        (started) => started.close(),
        (error: unknown) => (refusal = String(error)),
      );
      expect(refusal).to.contain(
        "#/components/schemas/NewItem/patternProperties: the model keyword patternProperties is dropped",
      );
      expect(refusal).to.contain(
        "#/components/schemas/NewItem/additionalProperties: the model keyword additionalProperties is dropped",
      );
      // Served anyway, it does what API Gateway would: neither keyword applies, the property passes.
      api = await startLocalApi({
        settings: dev,
        ...quiet,
        transformBody: withPatternProperties,
        acceptImportFindings: true,
      });
      expect((await client(api.url)("POST", "items", { json: { name: "x", color: "red" } })).status).to.equal(201);
    });

    it("honours X-HTTP-Method-Override, as API Gateway does", async () => {
      api = await startLocalApi({ settings: dev, ...quiet });
      const request = client(api.url);
      const { json: item } = await request("POST", "items", { json: { name: "x" } });
      const overridden = await request("POST", `items/${String(item.id)}`, {
        headers: { "X-HTTP-Method-Override": "DELETE" },
      });
      expect(overridden.status).to.equal(204);
      expectError(await request("GET", `items/${String(item.id)}`), 404, "not_found");
    });

    it("answers CORS preflights and adds CORS headers for allowed origins only", async () => {
      api = await startLocalApi({ settings: prod, ...quiet, apiKey: "key" });
      const anonymous = client(api.url);
      const preflight = await anonymous("OPTIONS", "items", {
        headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "POST" },
      });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
      expect(preflight.headers.get("access-control-allow-methods")).to.equal("POST, GET, HEAD, OPTIONS");
      expect(headerNames(preflight.headers.get("access-control-allow-headers"))).to.deep.equal(
        corsRequestHeaders(prod.signIn.mode),
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

    it("answers API Gateway's own plain-text 413 over 10 MB (it cannot be customized)", async () => {
      api = await startLocalApi({ settings: dev, ...quiet });
      const response = await client(api.url)("POST", "items", {
        raw: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
        contentType: "application/json",
      });
      expect(response.status).to.equal(413);
      expect(response.headers.get("content-type")).to.equal("text/plain");
      expect(response.text).to.equal("HTTP content length exceeded 10485760 bytes.");
      expect(response.headers.get("x-amz-apigw-id")).to.match(/^[A-Za-z0-9+/=]{16}$/);
    });

    it("answers INTEGRATION_FAILURE for a body Lambda cannot take (an event over its 6 MB payload quota)", async () => {
      api = await startLocalApi({ settings: dev, ...quiet });
      const request = client(api.url);
      // No model for text/plain: the body reaches the integration, whose event is too large.
      const tooLarge = await request("POST", "items", {
        raw: Buffer.alloc(7 * 1024 * 1024, 0x61),
        contentType: "text/plain",
      });
      expectIntegrationFailure(tooLarge);
      // Under the quota the function runs, and its own 64 KiB limit answers.
      const large = await request("POST", "items", {
        raw: Buffer.alloc(5 * 1024 * 1024, 0x61),
        contentType: "text/plain",
      });
      expectError(large, 415, "unsupported_media_type");
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
      const response = await client(api.url)("GET", "items/abc%20d?x=1&x=2&y=3", {
        headers: { "X-Custom": "v", "x-forwarded-proto": "javascript", "X-Forwarded-For": "10.1.1.1" },
      });
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
      // The gateway's forwarding headers replace a client's copies in any casing.
      expect(Object.keys(event.headers).filter((name) => /^x-forwarded-/i.test(name))).to.deep.equal([
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Port",
      ]);
      expect(event.headers["X-Forwarded-Proto"]).to.equal("http");
      expect(event.headers["X-Forwarded-For"]).to.equal("10.1.1.1, 127.0.0.1");
      expect(event.requestContext).to.include({ stage: "local", resourcePath: "/items/{id}", httpMethod: "GET" });
      expect(event.requestContext.requestId).to.equal(response.headers.get("x-amzn-requestid"));
      expect(event.requestContext.extendedRequestId).to.equal(response.headers.get("x-amz-apigw-id"));
      expect(event.requestContext.domainName).to.equal(new URL(api.url).host);
      expect(seen?.remaining).to.be.within(4000, 5000);
      expect(seen?.requestId).to.match(/^[0-9a-f-]{36}$/);
    });
  });
});
