/**
 * The local gateway as an interpreter: small hand-made documents, run as API Gateway would run
 * them. Nothing here is a rule of the Items API; the API's own document is tested through the
 * contract suite and test/infra/openapi.test.ts.
 */
import { expect } from "chai";
import type { ProxyHandler } from "../../handlers/http";
import { createLocalJWKSet } from "jose";
import { KeySet, createGateway, tokenVerifier } from "../../local/gateway";
import { localIssuer } from "../../local/issuer";

const URI =
  "arn:aws:apigateway:local:lambda:path/2015-03-31/functions/arn:aws:lambda:local:0:function:echo/invocations";

interface Seen {
  event?: Parameters<ProxyHandler>[0];
}

function documentWith(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "t", version: "1" },
    paths: {
      "/things": {
        post: {
          security: [{ key: [] }],
          requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } },
          responses: { "200": { description: "ok" } },
          "x-amazon-apigateway-request-validator": "body",
          "x-amazon-apigateway-integration": { type: "aws_proxy", httpMethod: "POST", uri: URI },
        },
        "x-amazon-apigateway-any-method": {
          responses: { "418": { description: "teapot", headers: { "x-id": { schema: { type: "string" } } } } },
          "x-amazon-apigateway-integration": {
            type: "mock",
            passthroughBehavior: "never",
            requestTemplates: { "application/json": '{"statusCode": 418}' },
            responses: {
              default: {
                statusCode: "418",
                responseParameters: { "method.response.header.x-id": "context.extendedRequestId" },
                responseTemplates: {
                  "application/json":
                    '#set($context.responseOverride.header.x-method = $context.httpMethod){"q":"$util.escapeJavaScript($input.params("q"))"}',
                },
              },
            },
          },
        },
      },
    },
    components: {
      schemas: { Thing: { type: "object", required: ["name"], properties: { name: { type: "string" } } } },
      securitySchemes: { key: { type: "apiKey", name: "x-api-key", in: "header" } },
    },
    "x-amazon-apigateway-request-validators": { body: { validateRequestBody: true } },
    ...extra,
  };
}

function gatewayFor(document: unknown, seen: Seen = {}) {
  const echo: ProxyHandler = (event) => {
    seen.event = event;
    return Promise.resolve({ statusCode: 200, body: event.body ?? "" });
  };
  const gateway = createGateway({
    document,
    functions: { echo },
    apiKeys: ["k"],
    functionTimeoutMs: 1000,
    memoryMb: 128,
    stage: "s",
    domainName: () => "127.0.0.1:9",
  });
  return (method: string, url: string, headers: Record<string, string> = {}, body = "") =>
    gateway({ method, url, rawHeaders: Object.entries(headers).flat(), body: Buffer.from(body), sourceIp: "10.0.0.1" });
}

describe("local gateway: an interpreter of the document", () => {
  it("answers API Gateway's built-in responses where the document customizes none", async () => {
    const run = gatewayFor(documentWith());
    const unknown = await run("GET", "/nowhere");
    expect([unknown.statusCode, unknown.body]).to.deep.equal([403, '{"message":"Missing Authentication Token"}']);
    const keyless = await run("POST", "/things", { "Content-Type": "application/json" }, '{"name":"a"}');
    expect([keyless.statusCode, keyless.body]).to.deep.equal([403, '{"message":"Forbidden"}']);
    const invalid = await run("POST", "/things", { "x-api-key": "k" }, '{"name":1}');
    expect([invalid.statusCode, invalid.body]).to.deep.equal([400, '{"message":"Invalid request body"}']);
    expect(invalid.detail).to.equal("Thing: /name must be string");
  });

  it("renders the document's gateway responses exactly as written, status and headers included", async () => {
    const run = gatewayFor(
      documentWith({
        "x-amazon-apigateway-gateway-responses": {
          DEFAULT_4XX: {
            statusCode: "499",
            responseParameters: {
              "gatewayresponse.header.x-static": "'yes'",
              "gatewayresponse.header.x-origin": "method.request.header.Origin",
            },
            responseTemplates: {
              "application/json": '{"type":"$context.error.responseType","id":"$context.extendedRequestId"}',
            },
          },
        },
      }),
    );
    const answer = await run("GET", "/nowhere", { origin: "https://o.example" });
    expect(answer.statusCode).to.equal(499);
    expect(answer.headers).to.include({ "x-static": "yes", "x-origin": "https://o.example" });
    expect(JSON.parse(String(answer.body))).to.deep.equal({
      type: "MISSING_AUTHENTICATION_TOKEN",
      id: answer.extendedRequestId,
    });
    expect(answer.headers["x-amz-apigw-id"]).to.equal(answer.extendedRequestId);
    expect(answer.headers["x-amzn-RequestId"]).to.equal(answer.requestId);
  });

  it("validates a body only under a media type the operation declares a model for", async () => {
    const seen: Seen = {};
    const run = gatewayFor(documentWith(), seen);
    const json = await run("POST", "/things", { "x-api-key": "k", "Content-Type": "application/json" }, "{}");
    expect(json.statusCode).to.equal(400);
    // No Content-Type counts as application/json.
    expect((await run("POST", "/things", { "x-api-key": "k" }, "not json")).statusCode).to.equal(400);
    const text = await run("POST", "/things", { "x-api-key": "k", "Content-Type": "text/plain; charset=utf-8" }, "{}");
    expect([text.statusCode, seen.event?.body]).to.deep.equal([200, "{}"]);
  });

  it("runs a mock: the request template selects the response, VTL renders it and may override headers", async () => {
    const run = gatewayFor(documentWith());
    const answer = await run("DELETE", '/things?q=a"b', {});
    expect(answer.statusCode).to.equal(418);
    expect(answer.headers).to.include({ "x-id": answer.extendedRequestId, "x-method": "DELETE" });
    expect(JSON.parse(String(answer.body))).to.deep.equal({ q: 'a"b' });
    // passthroughBehavior never: a media type without a request template is refused.
    const xml = await run("DELETE", "/things", { "Content-Type": "application/xml" }, "<a/>");
    expect([xml.statusCode, xml.body]).to.deep.equal([415, '{"message":"Unsupported Media Type"}']);
  });

  it("hands the function the request as a v1 proxy event, its path and query decoded, the root resource too", async () => {
    const seen: Seen = {};
    const run = gatewayFor(
      documentWith({
        paths: {
          "/things/{id}": {
            get: {
              responses: {},
              "x-amazon-apigateway-integration": { type: "aws_proxy", httpMethod: "POST", uri: URI },
            },
          },
        },
      }),
      seen,
    );
    const gateway = await run("GET", "/things/a%2Fb?x=1&x=2");
    expect(gateway.statusCode).to.equal(200);
    expect(seen.event).to.deep.include({
      resource: "/things/{id}",
      path: "/things/a%2Fb",
      pathParameters: { id: "a/b" },
      queryStringParameters: { x: "2" },
      multiValueQueryStringParameters: { x: ["1", "2"] },
      body: null,
    });
    const headers = await gatewayFor(
      documentWith({
        paths: {
          "/": {
            get: {
              responses: {},
              "x-amazon-apigateway-integration": { type: "aws_proxy", httpMethod: "POST", uri: URI },
            },
          },
        },
      }),
      seen,
    );
    await headers("GET", "/", {});
    expect(seen.event?.resource).to.equal("/");
  });
});

describe("local gateway: tokens it has verified", () => {
  const authorizer = (arn: string) => ({ providerArns: [arn], header: "Authorization" });

  /** The stack's issuer, its key set counting the signatures checked, and a clock the test moves. */
  async function verifierOf() {
    const issuer = await localIssuer("gateway-cache", undefined);
    const keys = createLocalJWKSet(issuer.jwks);
    const counted = { signatures: 0 };
    const countingKeys: KeySet = (header, token) => {
      counted.signatures += 1;
      return keys(header, token);
    };
    const clock = { ms: Date.now() };
    const verify = tokenVerifier(new Map([[issuer.userPoolArn, countingKeys]]), () => clock.ms);
    return { issuer, counted, clock, verify };
  }

  it("checks a token's signature once, and its exp again on every request: expired is refused", async () => {
    const { issuer, counted, clock, verify } = await verifierOf();
    const now = Math.floor(clock.ms / 1000);
    const token = await issuer.token("alice", { now, expiresIn: 60 });
    const first = await verify(authorizer(issuer.userPoolArn), token);
    expect(first?.sub).to.equal(issuer.subOf("alice"));
    if (first !== undefined) {
      first.sub = "changed by a caller";
    }
    clock.ms = (now + 59) * 1000 + 999;
    expect((await verify(authorizer(issuer.userPoolArn), token))?.sub).to.equal(issuer.subOf("alice"));
    expect(counted.signatures).to.equal(1);
    clock.ms = (now + 60) * 1000;
    expect(await verify(authorizer(issuer.userPoolArn), token)).to.equal(undefined);
    expect(await verify(authorizer(issuer.userPoolArn), token)).to.equal(undefined);
  });

  it("remembers a token per authorizer: another pool's authorizer checks it afresh and refuses it", async () => {
    const { issuer, counted, verify } = await verifierOf();
    const token = await issuer.token("bob");
    expect((await verify(authorizer(issuer.userPoolArn), token))?.sub).to.equal(issuer.subOf("bob"));
    expect(await verify(authorizer(`${issuer.userPoolArn}-other`), token)).to.equal(undefined);
    expect(counted.signatures).to.equal(1);
  });

  it("never remembers a refusal: a token not yet valid is accepted once its nbf has come", async () => {
    const { issuer, clock, verify } = await verifierOf();
    const now = Math.floor(clock.ms / 1000);
    const token = await issuer.token("carol", { now, claims: { nbf: now + 30 } });
    expect(await verify(authorizer(issuer.userPoolArn), token)).to.equal(undefined);
    clock.ms = (now + 30) * 1000;
    expect((await verify(authorizer(issuer.userPoolArn), token))?.sub).to.equal(issuer.subOf("carol"));
  });
});
