/**
 * Every exchange of the contract held against the stack's public document, with a validator
 * made for the job (openapi-backend): each response must be one the document describes (status,
 * required headers, header and body schemas), and each request the server refused as invalid
 * must be one the document refuses too, or one whose rule the document names where OpenAPI 3.0
 * cannot state it. Used by both drivers (contract.ts, verify.ts).
 */
import type { AnySchema, AnyValidateFunction } from "ajv/dist/core";
import addFormats from "ajv-formats";
import OpenAPIBackend from "openapi-backend";
import type { AjvCustomizer, Operation } from "openapi-backend";
import { MAX_BODY_BYTES } from "../../handlers/request";
import type { Settings } from "../../infra/config";
import { buildOpenApiDocument, documentOptionsOf } from "../../infra/openapi";
import type { Exchange } from "../support/http-client";

export interface Mismatch {
  request: string;
  status: number;
  problem: string;
}

/**
 * Rules the server enforces that OpenAPI 3.0 cannot state (or that a request validator does not
 * check): the server's refusal is explained when its message matches and the document names the
 * rule with this phrase.
 */
const UNSTATABLE_RULES: readonly { rule: string; message: RegExp; phrase: string }[] = [
  { rule: "read-only fields", message: /managed by the server and cannot be set/, phrase: '"readOnly":true' },
  { rule: "attribute names", message: /^attribute name .* is invalid/, phrase: "names match ^[A-Za-z]" },
  { rule: "attribute count", message: /at most 50 attributes/, phrase: "at most 50 of them" },
  { rule: "nesting depth", message: /nested deeper than/, phrase: "nested at most 8 levels deep" },
  { rule: "numbers", message: /cannot be stored: numbers must be/, phrase: "numbers must be integers of magnitude" },
  { rule: "nested keys", message: /nested keys hold|property name .* is not allowed/, phrase: "are refused as keys" },
  { rule: "UTF-8 bodies", message: /not valid UTF-8/, phrase: "JSON in UTF-8" },
  { rule: "charsets", message: /must be JSON sent as .* \(UTF-8\)/, phrase: "a charset other than utf-8 gets 415" },
  {
    rule: "body size",
    message: new RegExp(`at most ${MAX_BODY_BYTES} bytes`),
    phrase: `at most ${MAX_BODY_BYTES} bytes`,
  },
  { rule: "name removal", message: /^name cannot be removed$/, phrase: "name cannot be removed" },
  { rule: "entity tags", message: /must be \* or a list of entity tags/, phrase: "entity tags" },
  { rule: "entity tag list length", message: /If-(None-)?Match may list at most 100/, phrase: "at most 100, or 400" },
  {
    rule: "Idempotency-Key",
    message: /printable ASCII/,
    phrase: "printable ASCII characters without commas, on one header line",
  },
  { rule: "cursors", message: /cursor is not one this API issued/, phrase: "nextCursor of the previous page" },
];

/** Statuses and codes by which the server says a request is invalid (not a state of the data). */
const INVALID_REQUEST = new Set(["400", "413", "415"]);

/**
 * Validators compiled once per process, by schema and Ajv options. openapi-backend makes an Ajv
 * for each operation it validates and compiles a validator for each of the operation's statuses,
 * four for each status's response headers (openapi-backend validation.js, `getAjv` and
 * `buildResponseHeadersValidatorForOperation`); and each contract run (dev and prod, local and
 * serialized) has its own checker, so the same few schemas were compiled again and again (commit
 * db03924 has the figures). The schemas it compiles are dereferenced
 * (backend.js, `dereferenceSync` in quick mode), so a validator depends only on the schema and on
 * the options and formats the Ajv was made with, which are the same for every Ajv of a context.
 */
const compiledValidators = new Map<string, AnyValidateFunction>();

const customizeAjv: AjvCustomizer = (ajv, options, context) => {
  // The document's formats (uuid, date-time, uri) are checked, not ignored.
  addFormats(ajv);
  const compile = ajv.compile.bind(ajv) as (schema: AnySchema) => AnyValidateFunction;
  ajv.compile = ((schema: AnySchema) => {
    const key = JSON.stringify([context, options, schema]);
    let validate = compiledValidators.get(key);
    if (validate === undefined) {
      validate = compile(schema);
      compiledValidators.set(key, validate);
    }
    return validate;
  }) as typeof ajv.compile;
  return ajv;
};

function queryObject(query: string): Record<string, string | string[]> {
  const params = new URLSearchParams(query);
  const object: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    const existing = object[name];
    object[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return object;
}

function describeExchange(exchange: Exchange): string {
  return `${exchange.method} ${exchange.path}${exchange.query}`;
}

export class DocumentChecker {
  private readonly seen: Exchange[] = [];
  private readonly document: ReturnType<typeof buildOpenApiDocument>;
  private backend: Promise<OpenAPIBackend> | undefined;

  constructor(settings: Pick<Settings, "apiKeys" | "signIn">) {
    this.document = buildOpenApiDocument(documentOptionsOf(settings));
  }

  /** An observer for the contract's client. */
  readonly observe = (exchange: Exchange): void => {
    this.seen.push(exchange);
  };

  get exchanges(): number {
    return this.seen.length;
  }

  private api(): Promise<OpenAPIBackend> {
    this.backend ??= new OpenAPIBackend({
      definition: structuredClone(this.document) as never,
      strict: true,
      // Quick mode: openapi-backend compiles each validator when an exchange first needs it,
      // not every one at init, and skips its own check of the document, which
      // test/infra/openapi.test.ts makes with swagger-parser.
      quick: true,
      validate: true,
      coerceTypes: true,
      customizeAjv,
    }).init();
    return this.backend;
  }

  private async operationOf(exchange: Exchange): Promise<{ api: OpenAPIBackend; operation: Operation } | undefined> {
    const api = await this.api();
    const operation = api.router.matchOperation({
      method: exchange.method,
      path: exchange.path.split("?")[0] ?? exchange.path,
      headers: {},
    });
    return operation === undefined ? undefined : { api, operation };
  }

  /** Responses the document does not describe. Answers to routes it lacks (404, 405, OPTIONS) are the gateway's. */
  async responseMismatches(): Promise<Mismatch[]> {
    const mismatches: Mismatch[] = [];
    for (const exchange of this.seen) {
      const found = await this.operationOf(exchange);
      if (found === undefined) {
        continue;
      }
      const { api, operation } = found;
      const { status, headers, json, text } = exchange.response;
      const problem = (detail: string) =>
        mismatches.push({ request: describeExchange(exchange), status, problem: detail });
      const declared = operation.responses?.[String(status)] as
        { headers?: Record<string, { required?: boolean }>; content?: Record<string, unknown> } | undefined;
      if (declared === undefined) {
        problem(`status ${status} is not declared for ${operation.operationId ?? "?"}`);
        continue;
      }
      for (const [name, header] of Object.entries(declared.headers ?? {})) {
        if (header.required === true && !headers.has(name)) {
          problem(`the required header ${name} is missing`);
        }
      }
      const headerErrors = api.validateResponseHeaders(Object.fromEntries(headers), operation, {
        statusCode: status,
      }).errors;
      for (const error of headerErrors ?? []) {
        problem(`header ${error.instancePath} ${error.message ?? ""}`);
      }
      if (declared.content === undefined) {
        if (text !== "") {
          problem("a body where the document declares none");
        }
        continue;
      }
      const mediaType = headers.get("content-type")?.split(";")[0]?.trim();
      if (mediaType === undefined || !(mediaType in declared.content)) {
        problem(`Content-Type ${String(mediaType)} is not declared`);
        continue;
      }
      for (const error of api.validateResponse(json, operation, status).errors ?? []) {
        problem(`body ${error.instancePath} ${error.message ?? ""}`);
      }
    }
    return mismatches;
  }

  /** Whether the document, read by a request validator, refuses this request. */
  private refusesRequest(api: OpenAPIBackend, operation: Operation, exchange: Exchange): boolean {
    const headers = Object.fromEntries(exchange.requestHeaders.map(([name, value]) => [name.toLowerCase(), value]));
    const body = exchange.requestBody;
    const content = (operation.requestBody as { content?: Record<string, unknown> } | undefined)?.content;
    let parsed: unknown;
    if (body !== undefined && body.length > 0) {
      const mediaType = headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
      if (content === undefined || mediaType === undefined || !(mediaType in content)) {
        return true;
      }
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        return true;
      }
    } else if (content !== undefined) {
      return true;
    }
    const result = api.validateRequest(
      {
        method: exchange.method,
        path: exchange.path.split("?")[0] ?? exchange.path,
        query: queryObject(exchange.query),
        headers,
        body: parsed,
      },
      operation,
    );
    return result.errors !== null && result.errors !== undefined && result.errors.length > 0;
  }

  /** Requests the server refused as invalid that the document accepts without naming the rule. */
  async unexplainedRefusals(): Promise<Mismatch[]> {
    const text = JSON.stringify(this.document);
    const unexplained: Mismatch[] = [];
    for (const exchange of this.seen) {
      const status = exchange.response.status;
      const found = await this.operationOf(exchange);
      if (found === undefined || !INVALID_REQUEST.has(String(status))) {
        continue;
      }
      if (this.refusesRequest(found.api, found.operation, exchange)) {
        continue;
      }
      const message = String(exchange.response.json?.error?.message ?? exchange.response.text);
      const rule = UNSTATABLE_RULES.find((candidate) => candidate.message.test(message));
      if (rule === undefined || !text.includes(rule.phrase)) {
        unexplained.push({ request: describeExchange(exchange), status, problem: message });
      }
    }
    return unexplained;
  }
}
