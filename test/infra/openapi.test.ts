/**
 * The OpenAPI documents per stack: the public one (the `openApiDocument` output) and the REST API
 * body the stack deploys. The body must be strict OpenAPI 3.0, import into API Gateway without a
 * dropped part, be byte for byte what the local runtime serves (integration URIs aside), and
 * answer, run by the same interpreter the local runtime uses, as the contract says.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { expect } from "chai";
import { ERROR_STATUS } from "../../handlers/errors";
import type { ProxyHandler } from "../../handlers/http";
import { CORS_EXPOSED_HEADERS } from "../../handlers/headers";
import {
  GATEWAY_RESPONSE_TYPES,
  TEMPLATE_SAFE_VARIABLES,
  importRestApi,
  renderGatewayTemplate,
  templateVariables,
} from "../../infra/apigateway-import";
import {
  GATEWAY_RESPONSES,
  gatewayResponseCorsHeaders,
  gatewayResponses,
  lambdaInvokeArn,
  permissionPath,
  restApiBody,
  gatewayModelOf,
} from "../../infra/apigateway-openapi";
import { buildOpenApiDocument, documentOptionsOf } from "../../infra/openapi";
import { methodsOf, routes } from "../../infra/routes";
import { itemPatchSchema, newItemSchema } from "../../infra/schemas";
import { openApiJson } from "../../local/export-openapi";
import { createGateway, functionNameOf } from "../../local/gateway";
import { LocalIssuer, localIssuer } from "../../local/issuer";
import { readStackSettings } from "../../local/stack-settings";
import { resourceOf, stackSnapshot } from "../support/program-snapshot";
import { GATEWAY_RESPONSES_BY_STATUS, corsRequestHeaders, headerNames } from "./expectations";
import { STACKS, startInfraPrograms } from "./programs";

type Operation = Record<string, unknown> & {
  operationId?: string;
  security?: unknown;
  "x-amazon-apigateway-integration": { type: string; uri?: string };
};
type Body = {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
  security?: unknown;
  [extension: string]: unknown;
};

async function deployedBody(stack: string): Promise<Body> {
  const snapshot = await stackSnapshot(stack);
  return JSON.parse(String(resourceOf(snapshot).inputs.body)) as Body;
}

/** Every `uri` of the body replaced by the function name it invokes. */
function withFunctionNames(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withFunctionNames);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, member]) => [
      key,
      key === "uri" && typeof member === "string"
        ? functionNameOf(/functions\/(.+)\/invocations$/.exec(member)?.[1] ?? "")
        : withFunctionNames(member),
    ]),
  );
}

const ok: ProxyHandler = () => Promise.resolve({ statusCode: 200, body: "{}" });

/** The user pool a body's authorizer trusts; undefined without sign-in. */
function userPoolArnOf(body: Body): string | undefined {
  const scheme = body.components.securitySchemes?.user_pool as
    { "x-amazon-apigateway-authorizer"?: { providerARNs?: string[] } } | undefined;
  return scheme?.["x-amazon-apigateway-authorizer"]?.providerARNs?.[0];
}

/** A local issuer standing in for the pool a body trusts, one per pool. */
const issuers = new Map<string, Promise<LocalIssuer>>();
function issuerOf(userPoolArn: string): Promise<LocalIssuer> {
  let issuer = issuers.get(userPoolArn);
  if (issuer === undefined) {
    issuer = localIssuer("test", undefined, userPoolArn);
    issuers.set(userPoolArn, issuer);
  }
  return issuer;
}

/** An ID token of the pool the body trusts (empty without sign-in: no header is then needed). */
async function signedInToken(body: Body): Promise<string> {
  const pool = userPoolArnOf(body);
  return pool === undefined ? "" : (await issuerOf(pool)).token("alice");
}

/** The deployed body run by the local runtime's interpreter, every function answering 200. */
function interpreterOf(body: Body, apiKeys: string[] = []) {
  const functions: Record<string, ProxyHandler> = {};
  for (const operations of Object.values(body.paths)) {
    for (const operation of Object.values(operations)) {
      const uri = operation["x-amazon-apigateway-integration"].uri;
      if (uri !== undefined) {
        functions[functionNameOf(/functions\/(.+)\/invocations$/.exec(uri)?.[1] ?? "")] = ok;
      }
    }
  }
  const pool = userPoolArnOf(body);
  const gateway = (pool === undefined ? Promise.resolve(undefined) : issuerOf(pool)).then((issuer) =>
    createGateway({
      document: body,
      functions,
      apiKeys,
      functionTimeoutMs: 1000,
      memoryMb: 128,
      stage: "test",
      domainName: () => "127.0.0.1:1",
      userPools: pool === undefined || issuer === undefined ? {} : { [pool]: issuer.jwks },
    }),
  );
  return async (method: string, url: string, headers: Record<string, string> = {}, body = "") =>
    (await gateway)({
      method,
      url,
      rawHeaders: Object.entries(headers).flat(),
      body: Buffer.from(body),
      sourceIp: "127.0.0.1",
    });
}

const ITEM_URL = "/items/0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11";

describe("infra: OpenAPI documents", function () {
  this.timeout(120000);
  // Start every program run of the infra suite at once, when (and only if) it runs.
  before(startInfraPrograms);

  for (const stack of STACKS) {
    describe(`${stack} stack`, () => {
      const settings = readStackSettings(stack);
      const keys = settings.apiKeys.required;
      const signIn = settings.signIn.mode === "cognito";

      it("exports a valid OpenAPI 3.0 document, equal to buildOpenApiDocument for the stack's settings", async () => {
        const snapshot = await stackSnapshot(stack);
        const exported = snapshot.outputs.openApiDocument?.value;
        expect(exported).to.deep.equal(JSON.parse(JSON.stringify(buildOpenApiDocument(documentOptionsOf(settings)))));
        // validate() dereferences in place: give it a copy.
        await SwaggerParser.validate(structuredClone(exported) as never);
      });

      it("documents on every operation the answers API Gateway gives for a failing or slow function and for throttling", async () => {
        const snapshot = await stackSnapshot(stack);
        const document = snapshot.outputs.openApiDocument?.value as {
          paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
        };
        const gatewayAnswers = ["INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "THROTTLED"].map((type) => {
          const code = GATEWAY_RESPONSES[type]?.code ?? "internal_error";
          return { status: String(ERROR_STATUS[code]), code };
        });
        expect(gatewayAnswers.map(({ status }) => status)).to.deep.equal(["503", "504", "429"]);
        for (const route of routes) {
          const responses = document.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {};
          for (const { status, code } of gatewayAnswers) {
            expect(responses[status]?.description, `${route.operationId} ${status}`).to.contain(code);
          }
        }
      });

      it("deploys a body that is strict OpenAPI 3.0 and that API Gateway imports without dropping a part", async () => {
        const body = await deployedBody(stack);
        await SwaggerParser.validate(structuredClone(body) as never);
        expect(importRestApi(body).findings).to.deep.equal([]);
      });

      it("deploys exactly the body the local runtime serves, integration URIs aside", async () => {
        const body = await deployedBody(stack);
        const local = restApiBody(
          settings,
          routes,
          Object.fromEntries(
            routes.map((route) => [
              route.operationId,
              lambdaInvokeArn("local", `arn:aws:lambda:local:0:function:items-api-${stack}-${route.operationId}`),
            ]),
          ),
          signIn ? userPoolArnOf(body) : undefined,
        );
        expect(withFunctionNames(body)).to.deep.equal(withFunctionNames(JSON.parse(JSON.stringify(local))));
      });

      it("serves the stack's public document at GET /openapi.json, without a key, byte for byte the export", async () => {
        const snapshot = await stackSnapshot(stack);
        const body = await deployedBody(stack);
        const operation = body.paths["/openapi.json"];
        expect(Object.keys(operation ?? {})).to.deep.equal(["get"]);
        expect(operation?.get?.security).to.deep.equal([]);
        const integration = operation?.get?.["x-amazon-apigateway-integration"] as unknown as {
          type: string;
          responses: { default: { responseTemplates: Record<string, string> } };
        };
        expect(integration.type).to.equal("mock");
        // ImportRestApi: "The maximum size of the API definition file is 6MB".
        expect(Buffer.byteLength(String(resourceOf(snapshot).inputs.body))).to.be.below(6 * 1024 * 1024);
        // The document travels as base64, which holds nothing VTL would read.
        expect(integration.responses.default.responseTemplates["application/json"]).to.match(
          /(^|\n)\$util\.base64Decode\("[A-Za-z0-9+/]+=*"\)$/,
        );
        const answer = await interpreterOf(body, keys ? ["k"] : [])("GET", "/openapi.json");
        expect(answer.statusCode).to.equal(200);
        expect(answer.headers["Content-Type"]).to.equal("application/json");
        expect(String(answer.body)).to.equal(openApiJson(settings));
        expect(JSON.parse(String(answer.body))).to.deep.equal(snapshot.outputs.openApiDocument?.value);
      });

      it("has an operation per route and, per path, an OPTIONS preflight and an ANY answering 405", async () => {
        const body = await deployedBody(stack);
        expect(Object.keys(body.paths)).to.deep.equal(["/items", "/items/{id}", "/openapi.json"]);
        expect(Object.keys(body.paths["/items"] ?? {})).to.deep.equal([
          "post",
          "get",
          "head",
          "options",
          "x-amazon-apigateway-any-method",
        ]);
        expect(Object.keys(body.paths["/items/{id}"] ?? {})).to.deep.equal([
          "get",
          "head",
          "put",
          "patch",
          "delete",
          "options",
          "x-amazon-apigateway-any-method",
        ]);
        const run = interpreterOf(body, ["k"]);
        for (const [url, allow] of [
          ["/items", "POST, GET, HEAD, OPTIONS"],
          [ITEM_URL, "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"],
        ] as const) {
          for (const method of ["TRACE", "CONNECT"]) {
            const answer = await run(method, url);
            expect(answer.statusCode, `${method} ${url}`).to.equal(405);
            expect(answer.headers.Allow).to.equal(allow);
            expect(answer.headers["x-request-id"]).to.equal(answer.extendedRequestId);
            const resource = url === "/items" ? "/items" : "/items/{id}";
            expect(JSON.parse(String(answer.body))).to.deep.equal({
              error: {
                code: "method_not_allowed",
                message: `${method} is not allowed on ${resource}`,
                requestId: answer.extendedRequestId,
              },
            });
          }
        }
      });

      it(
        keys
          ? "requires the API key on every aws_proxy operation, per operation (API Gateway ignores root-level security)"
          : "requires no API key anywhere",
        async () => {
          const body = await deployedBody(stack);
          expect(body.security).to.equal(undefined);
          const required = Object.entries(body.paths).flatMap(([path, operations]) =>
            Object.entries(operations).map(([method, operation]) => ({
              at: `${method} ${path}`,
              type: operation["x-amazon-apigateway-integration"].type,
              security: operation.security,
            })),
          );
          const schemes = { ...(keys ? { api_key: [] } : {}), ...(signIn ? { user_pool: [] } : {}) };
          for (const { at, type, security } of required) {
            const expected = type === "aws_proxy" && (keys || signIn) ? [schemes] : type === "mock" ? [] : undefined;
            expect(security, at).to.deep.equal(expected);
          }
          expect(body.components.securitySchemes).to.deep.equal({
            ...(keys ? { api_key: { type: "apiKey", name: "x-api-key", in: "header" } } : {}),
            ...(signIn
              ? {
                  user_pool: {
                    type: "apiKey",
                    name: "Authorization",
                    in: "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                      type: "cognito_user_pools",
                      providerARNs: [userPoolArnOf(body)],
                    },
                  },
                }
              : {}),
          });
          expect(body["x-amazon-apigateway-api-key-source"]).to.equal(keys ? "HEADER" : undefined);
          const run = interpreterOf(body, ["the-key"]);
          const token: Record<string, string> = signIn ? { Authorization: await signedInToken(body) } : {};
          const imported = importRestApi(body).api;
          const proxyMethods = imported.resources.flatMap((resource) =>
            Object.values(resource.methods).filter((method) => method.integration.type === "aws_proxy"),
          );
          const operations = routes.flatMap((route) => methodsOf(route).map((method) => ({ route, method })));
          expect(proxyMethods.map((method) => method.apiKeyRequired)).to.deep.equal(operations.map(() => keys));
          expect(operations.map(({ method }) => method)).to.include("HEAD");
          for (const { route, method } of operations) {
            const url = route.path.replace("{id}", ITEM_URL.slice("/items/".length));
            const body = route.requestSchema === undefined ? "" : '{"name":"x"}';
            const withoutKey = await run(method, url, token, body);
            const keyed = await run(method, url, { ...token, "x-api-key": "the-key" }, body);
            expect([withoutKey.statusCode, keyed.statusCode], `${method} ${route.path}`).to.deep.equal(
              keys ? [403, 200] : [200, 200],
            );
          }
        },
      );

      it("answers preflights without a key, with CORS for allowed origins only", async () => {
        const run = interpreterOf(await deployedBody(stack));
        for (const url of ["/items", ITEM_URL]) {
          const methods = url === "/items" ? "POST, GET, HEAD, OPTIONS" : "GET, HEAD, PUT, PATCH, DELETE, OPTIONS";
          const allowed = stack === "dev" ? "http://localhost:5173" : "https://app.example.com";
          const preflight = await run("OPTIONS", url, { Origin: allowed, "Access-Control-Request-Method": "PUT" });
          expect(preflight.statusCode).to.equal(204);
          expect(headerNames(String(preflight.headers["Access-Control-Allow-Headers"]))).to.deep.equal(
            corsRequestHeaders(readStackSettings(stack).signIn.mode),
          );
          expect(preflight.headers).to.include({
            "Access-Control-Allow-Origin": stack === "dev" ? "*" : allowed,
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Max-Age": "600",
            "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
          });
          const foreign = await run("OPTIONS", url, { origin: "https://elsewhere.example.org" });
          expect(foreign.statusCode).to.equal(204);
          expect(Object.keys(foreign.headers).filter((name) => name.startsWith("Access-Control"))).to.deep.equal(
            stack === "dev"
              ? [
                  "Access-Control-Allow-Origin",
                  "Access-Control-Expose-Headers",
                  "Access-Control-Allow-Methods",
                  "Access-Control-Allow-Headers",
                  "Access-Control-Max-Age",
                ]
              : [],
          );
        }
      });

      it("validates write bodies with the routes' own request schemas as models", async () => {
        const body = await deployedBody(stack);
        expect(body["x-amazon-apigateway-request-validators"]).to.deep.equal({
          body: { validateRequestBody: true, validateRequestParameters: false },
        });
        const validated = Object.entries(body.paths).flatMap(([path, operations]) =>
          Object.entries(operations)
            .filter(([, operation]) => operation["x-amazon-apigateway-request-validator"] === "body")
            .map(([method, operation]) => `${method.toUpperCase()} ${path} ${String(operation.operationId)}`),
        );
        expect(validated).to.deep.equal([
          "POST /items createItem",
          "PUT /items/{id} replaceItem",
          "PATCH /items/{id} patchItem",
        ]);
        // The routes' schemas, without the annotations (readOnly) no model keeps.
        expect(body.components.schemas?.NewItem).to.deep.equal(gatewayModelOf(newItemSchema));
        expect(body.components.schemas?.ItemPatch).to.deep.equal(gatewayModelOf(itemPatchSchema));
        expect(JSON.stringify(body.components.schemas)).not.to.match(/"(readOnly|example|default)"/);
        // API Gateway models resolve only model references: parameters and headers are inline.
        expect(Object.keys(body.components)).to.deep.equal(
          keys || signIn ? ["securitySchemes", "schemas"] : ["schemas"],
        );
        const refs = [...JSON.stringify(body).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1]);
        expect(refs.length).to.be.greaterThan(0);
        for (const ref of new Set(refs)) {
          expect(ref).to.match(/^#\/components\/schemas\/[A-Za-z]+$/);
          expect(body.components.schemas?.[String(ref).split("/").pop() ?? ""], ref).to.not.equal(undefined);
        }
      });

      it("rewrites every gateway response it may into the envelope, with the right status and CORS", async () => {
        const body = await deployedBody(stack);
        const responses = body["x-amazon-apigateway-gateway-responses"] as Record<
          string,
          { statusCode?: string; responseParameters: Record<string, string>; responseTemplates: Record<string, string> }
        >;
        // Every type API Gateway has, but the one it does not let us customize.
        expect(Object.keys(responses).sort()).to.deep.equal(
          Object.keys(GATEWAY_RESPONSE_TYPES)
            .filter((type) => type !== "REQUEST_TOO_LARGE")
            .sort(),
        );
        const expose = `'${CORS_EXPOSED_HEADERS}'`;
        const expectedCors =
          stack === "dev"
            ? {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                "gatewayresponse.header.Access-Control-Expose-Headers": expose,
              }
            : {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
                "gatewayresponse.header.Access-Control-Expose-Headers": expose,
                "gatewayresponse.header.Vary": "'Origin'",
              };
        const statusAndCode: Record<string, string> = {};
        for (const [type, response] of Object.entries(responses)) {
          expect(response.responseParameters, type).to.deep.equal({
            "gatewayresponse.header.Cache-Control": "'no-store'",
            "gatewayresponse.header.X-Content-Type-Options": "'nosniff'",
            ...(type === "THROTTLED" || type === "INTEGRATION_FAILURE"
              ? { "gatewayresponse.header.Retry-After": "'1'" }
              : {}),
            // RFC 9110 §11.6.1: a 401 carries a challenge.
            ...(type === "UNAUTHORIZED"
              ? { "gatewayresponse.header.WWW-Authenticate": `'Bearer realm="items-api"'` }
              : {}),
            ...expectedCors,
          });
          const envelope = JSON.parse(
            renderGatewayTemplate(response.responseTemplates["application/json"] ?? "", {
              extendedRequestId: "Ab1+/=",
            }),
          ) as { error: { code: keyof typeof ERROR_STATUS; message: string; requestId: string } };
          expect(Object.keys(envelope.error), type).to.deep.equal(["code", "message", "requestId"]);
          expect(envelope.error.requestId, type).to.equal("Ab1+/=");
          if (response.statusCode !== undefined) {
            expect(ERROR_STATUS[envelope.error.code], type).to.equal(Number(response.statusCode));
          }
          statusAndCode[type] = `${response.statusCode ?? "-"} ${envelope.error.code}`;
        }
        expect(statusAndCode).to.include({
          DEFAULT_4XX: "- forbidden",
          DEFAULT_5XX: "- internal_error",
          MISSING_AUTHENTICATION_TOKEN: "404 not_found",
          RESOURCE_NOT_FOUND: "404 not_found",
          INVALID_API_KEY: "403 forbidden",
          BAD_REQUEST_BODY: "400 validation_failed",
          THROTTLED: "429 throttled",
          QUOTA_EXCEEDED: "429 throttled",
          INTEGRATION_TIMEOUT: "504 gateway_timeout",
          INTEGRATION_FAILURE: "503 unavailable",
          UNSUPPORTED_MEDIA_TYPE: "415 unsupported_media_type",
          UNAUTHORIZED: "401 unauthorized",
          ACCESS_DENIED: "403 forbidden",
        });
      });

      it("keeps every gateway response JSON whatever its variables hold", async () => {
        const body = await deployedBody(stack);
        const responses = body["x-amazon-apigateway-gateway-responses"] as Record<
          string,
          { responseTemplates: Record<string, string> }
        >;
        // Every $context variable a gateway response could name, each holding the worst it can.
        const hostile = "\"}\\\n\u2028<'\\u0000";
        const values: Record<string, string> = Object.fromEntries(
          [
            "requestId",
            "path",
            "error.message",
            "error.messageString",
            "error.validationErrorString",
            "identity.sourceIp",
            "identity.userAgent",
            "identity.apiKey",
            "domainName",
            "protocol",
          ].map((variable) => [variable, hostile]),
        );
        // Variables API Gateway fills from a fixed alphabet: every character that alphabet allows.
        Object.assign(values, {
          extendedRequestId: "AZaz09+/=_-",
          "error.responseType": "BAD_REQUEST_BODY",
          stage: "Az09_-",
          resourcePath: "/a_.,:{b}-",
          httpMethod: "PATCH",
        });
        for (const [variable, { alphabet }] of Object.entries(TEMPLATE_SAFE_VARIABLES)) {
          expect(values[variable], variable).to.match(alphabet);
        }
        for (const [type, response] of Object.entries(responses)) {
          for (const [contentType, template] of Object.entries(response.responseTemplates)) {
            for (const variable of templateVariables(template)) {
              expect(variable, `${type} ${contentType}`).to.be.oneOf(Object.keys(values));
            }
            const rendered = renderGatewayTemplate(template, values);
            expect(() => JSON.parse(rendered), `${type}: ${rendered}`).not.to.throw();
          }
        }
      });
    });
  }

  describe("pure parts", () => {
    it("makes models of schemas: annotations and additionalProperties: true go, a nullable field loses its type, not its range", () => {
      expect(
        gatewayModelOf({
          type: "object",
          required: ["a"],
          properties: {
            a: { type: "string", maxLength: 3, readOnly: true, example: "x", default: "" },
            b: { type: "string", maxLength: 3, nullable: true, description: "b" },
            c: { type: "integer", minimum: 1, maximum: 5, nullable: true },
            d: { type: "string", enum: ["x", "y"], nullable: true },
            e: { type: "object", additionalProperties: false },
          },
          additionalProperties: true,
        }),
      ).to.deep.equal({
        type: "object",
        required: ["a"],
        properties: {
          a: { type: "string", maxLength: 3 },
          b: { maxLength: 3, description: "b" },
          // A fraction is refused, any non-number let through: draft 4's multipleOf applies to numbers only.
          c: { minimum: 1, maximum: 5, multipleOf: 1 },
          d: { enum: ["x", "y", null] },
          e: { type: "object", additionalProperties: false },
        },
      });
    });

    it("scopes permissions with a * per path parameter", () => {
      expect(["/items", "/items/{id}", "/a/{b}/c/{d}"].map(permissionPath)).to.deep.equal([
        "/items",
        "/items/*",
        "/a/*/c/*",
      ]);
    });

    it("names the origin in gateway responses when one is allowed and echoes the caller's when several are", () => {
      expect(gatewayResponseCorsHeaders([])).to.deep.equal({});
      expect(gatewayResponseCorsHeaders(["https://a.example.com", "https://b.example.com"])).to.deep.equal({
        "Access-Control-Allow-Origin": "method.request.header.Origin",
        "Access-Control-Expose-Headers": `'${CORS_EXPOSED_HEADERS}'`,
        Vary: "'Origin'",
      });
    });

    it("answers a preflight for each of several allowed origins and none for others", async () => {
      const origins = ["https://a.example.com", "https://b.example.com"];
      const body = restApiBody(
        {
          corsAllowedOrigins: origins,
          apiKeys: { required: false, quotaPerDay: 1, rateLimit: 1, burstLimit: 1 },
          signIn: { mode: "none", userPoolId: undefined },
        },
        routes,
        Object.fromEntries(
          routes.map((route) => [route.operationId, lambdaInvokeArn("local", "arn:aws:lambda:local:0:function:f")]),
        ),
      ) as unknown as Body;
      const run = interpreterOf(body);
      for (const origin of origins) {
        const answer = await run("OPTIONS", "/items", { Origin: origin });
        expect(answer.headers["Access-Control-Allow-Origin"]).to.equal(origin);
        expect(answer.headers.Vary).to.equal("Origin");
      }
      const other = await run("OPTIONS", "/items", { Origin: "https://c.example.com" });
      expect(Object.keys(other.headers).sort()).to.deep.equal(
        [
          "Cache-Control",
          "Content-Type",
          "X-Content-Type-Options",
          "x-amz-apigw-id",
          "x-amzn-RequestId",
          "x-request-id",
        ].sort(),
      );
    });

    it("gives each gateway response the status the contract gives that answer, and the DEFAULT_* fallbacks API Gateway's own", () => {
      const responses = gatewayResponses([]) as Record<string, { statusCode?: string }>;
      const byStatus: Record<string, string[]> = {};
      for (const [type, response] of Object.entries(responses)) {
        (byStatus[response.statusCode ?? "fallback"] ??= []).push(type);
      }
      for (const types of Object.values(byStatus)) {
        types.sort();
      }
      expect(byStatus).to.deep.equal(
        Object.fromEntries(
          Object.entries(GATEWAY_RESPONSES_BY_STATUS).map(([status, types]) => [status, [...types].sort()]),
        ),
      );
    });
  });
});
