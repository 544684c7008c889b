/**
 * The OpenAPI documents per stack: the public one (the `openApiDocument` output) is valid
 * OpenAPI 3.0, and the REST API body built from it carries API Gateway's extensions so that
 * AWS answers what the local runtime answers: envelopes for gateway responses, 405 with Allow,
 * CORS preflights, body validation with the routes' own draft-4 schemas.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { expect } from "chai";
import { ERROR_STATUS, buildOpenApiDocument } from "../../infra/openapi";
import { routes } from "../../infra/routes";
import { itemPatchSchema, newItemSchema } from "../../infra/schemas";
import {
  GATEWAY_RESPONSES,
  gatewayResponseCorsHeaders,
  permissionPath,
  preflightOperation,
} from "../../infra/apigateway-openapi";
import { corsHeaders } from "../../handlers/http";
import { CORS_ALLOWED_HEADERS, createGateway } from "../../local/gateway";
import { resourceOf, stackSettings, stackSnapshot } from "../support/program-snapshot";
import { startInfraPrograms } from "./programs";

/** `Access-Control-Expose-Headers` as the handlers send it, quoted as a static mapping value. */
const EXPOSE = `'${corsHeaders(["*"], undefined)["Access-Control-Expose-Headers"] ?? ""}'`;

type Operation = Record<string, unknown> & {
  security?: unknown;
  responses: Record<string, { headers?: Record<string, unknown> }>;
  "x-amazon-apigateway-integration": {
    type: string;
    requestTemplates?: Record<string, string>;
    responses?: Record<
      string,
      {
        statusCode: string;
        responseParameters: Record<string, string>;
        responseTemplates: Record<string, string>;
      }
    >;
  };
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

/** What API Gateway would answer from a mock integration: static and mapped headers, plus the
 * VTL overrides when the template's origin condition holds for `origin`. */
function mockAnswer(
  operation: Operation,
  origin: string | undefined,
): { status: number; headers: Record<string, string> } {
  const integration = operation["x-amazon-apigateway-integration"];
  const response = integration.responses?.default;
  if (response === undefined) {
    throw new Error("mock without a default response");
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(response.responseParameters)) {
    const name = key.replace(/^method\.response\.header\./, "");
    headers[name] = value === "context.requestId" ? "<request id>" : value.replace(/^'(.*)'$/, "$1");
  }
  const template = response.responseTemplates["application/json"] ?? "";
  const condition = /#if\((\$origin == .*)\)\n/.exec(template)?.[1];
  const allowed = condition?.split(" || ").map((part) => /^\$origin == "(.*)"$/.exec(part)?.[1]) ?? [];
  if (condition !== undefined && origin !== undefined && allowed.includes(origin)) {
    for (const match of template.matchAll(/#set\(\$context\.responseOverride\.header\.([A-Za-z-]+) = (.*)\)/g)) {
      const [, name = "", value = ""] = match;
      headers[name] = value === "$origin" ? origin : value.replace(/^"(.*)"$/, "$1");
    }
  }
  return { status: Number(response.statusCode), headers };
}

async function localAnswer(
  stack: string,
  method: string,
  path: string,
  origin: string | undefined,
): Promise<{ status: number; headers: Record<string, string> }> {
  const settings = stackSettings(stack);
  const gateway = createGateway({
    routes,
    handlers: {},
    corsAllowedOrigins: settings.corsAllowedOrigins,
    apiKeys: settings.apiKeys.required ? ["a-key"] : undefined,
    timeoutMs: 1000,
    memoryMb: 128,
    stage: stack,
  });
  const response = await gateway({
    method,
    url: path,
    rawHeaders: origin === undefined ? [] : ["Origin", origin],
    body: Buffer.alloc(0),
    sourceIp: "127.0.0.1",
  });
  const headers = Object.fromEntries(
    Object.entries(response.headers).map(([name, value]) => [name, name === "x-request-id" ? "<request id>" : value]),
  );
  return { status: response.statusCode, headers };
}

describe("infra: OpenAPI documents", function () {
  this.timeout(120000);
  // Start every program run of the infra suite at once, when (and only if) it runs.
  before(startInfraPrograms);

  for (const stack of ["dev", "prod"]) {
    describe(`${stack} stack`, () => {
      const settings = stackSettings(stack);

      it("exports a valid OpenAPI 3.0 document, equal to buildOpenApiDocument for the stack's settings", async () => {
        const snapshot = await stackSnapshot(stack);
        const exported = snapshot.outputs.openApiDocument?.value;
        expect(exported).to.deep.equal(
          JSON.parse(JSON.stringify(buildOpenApiDocument({ apiKeyRequired: settings.apiKeys.required }))),
        );
        // validate() dereferences in place: give it a copy.
        await SwaggerParser.validate(structuredClone(exported) as never);
      });

      it("deploys a body with an operation per route and, per path, an OPTIONS preflight and a 405 for any other method", async () => {
        const body = await deployedBody(stack);
        expect(Object.keys(body.paths)).to.deep.equal(["/items", "/items/{id}"]);
        expect(Object.keys(body.paths["/items"] ?? {})).to.deep.equal([
          "post",
          "get",
          "options",
          "x-amazon-apigateway-any-method",
        ]);
        expect(Object.keys(body.paths["/items/{id}"] ?? {})).to.deep.equal([
          "get",
          "put",
          "patch",
          "delete",
          "options",
          "x-amazon-apigateway-any-method",
        ]);
        for (const [path, allow] of [
          ["/items", "POST, GET"],
          ["/items/{id}", "GET, PUT, PATCH, DELETE"],
        ] as const) {
          const anyMethod = body.paths[path]?.["x-amazon-apigateway-any-method"];
          const options = body.paths[path]?.options;
          expect(anyMethod?.security, path).to.deep.equal([]);
          expect(options?.security, path).to.deep.equal([]);
          expect(anyMethod?.["x-amazon-apigateway-integration"].type).to.equal("mock");
          expect(options?.["x-amazon-apigateway-integration"].type).to.equal("mock");
          const answer = anyMethod === undefined ? undefined : mockAnswer(anyMethod, undefined);
          expect(answer?.status).to.equal(405);
          expect(answer?.headers.Allow).to.equal(allow);
          const template =
            anyMethod?.["x-amazon-apigateway-integration"].responses?.default?.responseTemplates["application/json"] ??
            "";
          const envelope = JSON.parse(
            template
              .slice(template.indexOf('{"error"'))
              .replace(/\$context\.requestId/g, "r-1")
              .replace(/\$context\.httpMethod/g, "HEAD")
              .replace(/\$context\.resourcePath/g, path),
          ) as unknown;
          expect(envelope).to.deep.equal({
            error: { code: "method_not_allowed", message: `HEAD is not allowed on ${path}`, requestId: "r-1" },
          });
        }
      });

      it("answers a 405 like the local runtime, CORS included", async () => {
        const body = await deployedBody(stack);
        const origins = [undefined, "https://app.example.com", "https://elsewhere.example.org"];
        for (const [path, concrete] of [
          ["/items", "/items"],
          ["/items/{id}", "/items/0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"],
        ] as const) {
          const anyMethod = body.paths[path]?.["x-amazon-apigateway-any-method"];
          for (const origin of origins) {
            const local = await localAnswer(stack, "HEAD", concrete, origin);
            const aws = anyMethod === undefined ? undefined : mockAnswer(anyMethod, origin);
            expect(aws, `${path} ${origin}`).to.deep.equal({
              status: local.status,
              headers: Object.fromEntries(Object.entries(local.headers).filter(([name]) => name !== "Content-Type")),
            });
          }
        }
      });

      it("answers a CORS preflight like the local runtime, without requiring an API key", async () => {
        const body = await deployedBody(stack);
        for (const origin of [undefined, "https://app.example.com", "https://elsewhere.example.org"]) {
          for (const [path, concrete] of [
            ["/items", "/items"],
            ["/items/{id}", "/items/0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"],
          ] as const) {
            const options = body.paths[path]?.options;
            expect(options === undefined ? undefined : mockAnswer(options, origin), `${path} ${origin}`).to.deep.equal(
              await localAnswer(stack, "OPTIONS", concrete, origin),
            );
          }
        }
        expect(CORS_ALLOWED_HEADERS).to.equal(
          "Content-Type, If-Match, If-None-Match, Idempotency-Key, x-api-key, x-correlation-id",
        );
      });

      it("validates write bodies with the routes' own draft-4 schemas as models", async () => {
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
        const { $schema: _newItemDialect, ...newItem } = newItemSchema;
        const { $schema: _patchDialect, ...itemPatch } = itemPatchSchema;
        expect(body.components.schemas?.NewItem).to.deep.equal(newItem);
        expect(body.components.schemas?.ItemPatch).to.deep.equal(itemPatch);
        // API Gateway models resolve only model references: parameters and headers are inline.
        expect(Object.keys(body.components)).to.deep.equal(
          settings.apiKeys.required ? ["securitySchemes", "schemas"] : ["schemas"],
        );
        const refs = [...JSON.stringify(body).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1]);
        expect(refs.length).to.be.greaterThan(0);
        for (const ref of new Set(refs)) {
          expect(ref).to.match(/^#\/components\/schemas\/[A-Za-z]+$/);
          expect(body.components.schemas?.[String(ref).split("/").pop() ?? ""], ref).to.not.equal(undefined);
        }
        expect(JSON.stringify(body.components.schemas)).not.to.match(/"(example|readOnly)"/);
      });

      it("requires an API key from the x-api-key header on every route exactly when the stack does", async () => {
        const body = await deployedBody(stack);
        if (settings.apiKeys.required) {
          expect(body.security).to.deep.equal([{ api_key: [] }]);
          expect(body.components.securitySchemes).to.deep.equal({
            api_key: { type: "apiKey", name: "x-api-key", in: "header" },
          });
          expect(body["x-amazon-apigateway-api-key-source"]).to.equal("HEADER");
        } else {
          expect([
            body.security,
            body.components.securitySchemes,
            body["x-amazon-apigateway-api-key-source"],
          ]).to.deep.equal([undefined, undefined, undefined]);
        }
      });

      it("rewrites every gateway response into the error envelope with the right status and CORS", async () => {
        const body = await deployedBody(stack);
        const responses = body["x-amazon-apigateway-gateway-responses"] as Record<
          string,
          { statusCode?: string; responseParameters: Record<string, string>; responseTemplates: Record<string, string> }
        >;
        expect(Object.keys(responses).sort()).to.deep.equal(
          [
            "ACCESS_DENIED",
            "API_CONFIGURATION_ERROR",
            "AUTHORIZER_CONFIGURATION_ERROR",
            "AUTHORIZER_FAILURE",
            "BAD_REQUEST_BODY",
            "BAD_REQUEST_PARAMETERS",
            "DEFAULT_4XX",
            "DEFAULT_5XX",
            "EXPIRED_TOKEN",
            "INTEGRATION_FAILURE",
            "INTEGRATION_TIMEOUT",
            "INVALID_API_KEY",
            "INVALID_SIGNATURE",
            "MISSING_AUTHENTICATION_TOKEN",
            "QUOTA_EXCEEDED",
            "REQUEST_TOO_LARGE",
            "RESOURCE_NOT_FOUND",
            "THROTTLED",
            "UNAUTHORIZED",
            "UNSUPPORTED_MEDIA_TYPE",
            "WAF_FILTERED",
          ].sort(),
        );
        const statusAndCode = Object.fromEntries(
          Object.entries(responses).map(([type, response]) => {
            const template = response.responseTemplates["application/json"] ?? "";
            // Gateway templates are not VTL: only $context variables are substituted.
            const rendered = template
              .replace(/\$context\.error\.messageString/g, '"a \\"quoted\\" message"')
              .replace(/\$context\.error\.validationErrorString/g, "[object has missing required properties]")
              .replace(/\$context\.requestId/g, "r-1");
            const envelope = JSON.parse(rendered) as { error: { code: keyof typeof ERROR_STATUS; requestId: string } };
            expect(Object.keys(envelope.error), type).to.deep.equal(["code", "message", "requestId"]);
            expect(envelope.error.requestId, type).to.equal("r-1");
            if (response.statusCode !== undefined) {
              expect(ERROR_STATUS[envelope.error.code], type).to.equal(Number(response.statusCode));
            }
            return [type, `${response.statusCode ?? "-"} ${envelope.error.code}`];
          }),
        );
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
          INTEGRATION_FAILURE: "502 bad_gateway",
          REQUEST_TOO_LARGE: "413 payload_too_large",
          UNSUPPORTED_MEDIA_TYPE: "415 unsupported_media_type",
        });
        const expectedCors =
          stack === "dev"
            ? {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                "gatewayresponse.header.Access-Control-Expose-Headers": EXPOSE,
              }
            : {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
                "gatewayresponse.header.Access-Control-Expose-Headers": EXPOSE,
                "gatewayresponse.header.Vary": "'Origin'",
              };
        for (const [type, response] of Object.entries(responses)) {
          expect(response.responseParameters, type).to.deep.equal({
            "gatewayresponse.header.Cache-Control": "'no-store'",
            "gatewayresponse.header.X-Content-Type-Options": "'nosniff'",
            ...(type === "THROTTLED" ? { "gatewayresponse.header.Retry-After": "'1'" } : {}),
            ...expectedCors,
          });
        }
      });
    });
  }

  describe("pure parts", () => {
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
        "Access-Control-Expose-Headers": EXPOSE,
        Vary: "'Origin'",
      });
    });

    it("answers a preflight for each of several allowed origins and none for others", () => {
      const origins = ["https://a.example.com", "https://b.example.com"];
      const [route] = routes;
      const operation = preflightOperation(route === undefined ? [] : [route], origins) as Operation;
      for (const origin of origins) {
        expect(mockAnswer(operation, origin).headers["Access-Control-Allow-Origin"]).to.equal(origin);
      }
      expect(mockAnswer(operation, "https://c.example.com").headers).not.to.have.property(
        "Access-Control-Allow-Origin",
      );
      expect(mockAnswer(operation, undefined).headers).to.deep.equal({
        "x-request-id": "<request id>",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      });
    });

    it("declares each gateway response code with the status ERROR_STATUS gives it", () => {
      for (const [type, spec] of Object.entries(GATEWAY_RESPONSES)) {
        if (spec.status !== undefined) {
          expect(ERROR_STATUS[spec.code], type).to.equal(spec.status);
        }
      }
    });
  });
});
