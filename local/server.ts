/**
 * The local runtime: the embedded DynamoDB engine (or `DYNAMODB_ENDPOINT`), the tables, the
 * handlers built from the route table exactly as each Lambda builds them, and an HTTP server
 * that puts the API Gateway emulation in front of them.
 */
import { randomBytes, randomUUID } from "crypto";
import { createServer, IncomingMessage, ServerResponse } from "http";
import { AddressInfo } from "net";
import type { ProxyHandler } from "../handlers/http";
import { MAX_PAYLOAD_BYTES } from "../infra/apigateway-import";
import { lambdaInvokeArn, restApiBody } from "../infra/apigateway-openapi";
import { Settings } from "../infra/config";
import { OpenApiDocument, buildOpenApiDocument } from "../infra/openapi";
import { Route, routes as defaultRoutes } from "../infra/routes";
import { IDEMPOTENCY_TABLE, ITEMS_TABLE } from "../infra/table-definitions";
import { createLocalPages } from "./docs";
import { withEnvironmentSync } from "./environment";
import { Engine, engineClient, ensureTables, startEmbeddedEngine } from "./engine";
import { createGateway } from "./gateway";
import { PROJECT_NAME } from "./stack-settings";

export interface LocalApiOptions {
  settings: Settings;
  /** The stack whose settings these are: it names the functions and the stage. Default `local`. */
  stack?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Folder the embedded engine persists to; undefined keeps data in memory. */
  dataDir?: string;
  /** Another DynamoDB endpoint (DynamoDB Local, or AWS) instead of the embedded engine. */
  dynamoDbEndpoint?: string;
  tableNames?: { items: string; idempotency: string };
  /** Handlers by operationId to serve instead of the route table's factories (e.g. serialized ones). */
  handlers?: Record<string, ProxyHandler>;
  routes?: readonly Route[];
  /** The key `x-api-key` must carry when the stack requires keys; generated when absent. */
  apiKey?: string;
  /** Overrides the stack's Lambda timeout (the function's own; the integration's stays 29 s). */
  timeoutMs?: number;
  /** Extra handler environment, e.g. DYNAMODB_MAX_ATTEMPTS. */
  environment?: Record<string, string>;
  /** Receives one JSON line per request; default stdout. */
  accessLog?: (line: string) => void;
  /** Rewrites the REST API body before it is served (tests of the interpreter's rules). */
  transformBody?: (body: OpenApiDocument) => OpenApiDocument;
  /** Serve a body that API Gateway would import only with warnings (its `failOnWarnings: false`). */
  acceptImportFindings?: boolean;
}

export interface LocalApi {
  /** `http://HOST:PORT/` */
  url: string;
  apiKey: string | undefined;
  dynamoDbEndpoint: string;
  tableNames: { items: string; idempotency: string };
  /** Environment the handlers were built with. */
  environment: Record<string, string>;
  /** Stops accepting, waits for requests in flight, then closes the engine. */
  close(): Promise<void>;
}

const LOCAL_REGION = "local";
const LOCAL_ACCOUNT = "000000000000";

/** Credentials and region the SDK needs to talk to a local engine (never used against AWS). */
function ensureLocalAwsEnvironment(): void {
  process.env.AWS_REGION ??= "us-east-1";
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

/** Runs each factory with the handler environment in place, as a Lambda container would. */
function buildHandlers(routes: readonly Route[], environment: Record<string, string>): Record<string, ProxyHandler> {
  return withEnvironmentSync(environment, () =>
    Object.fromEntries(routes.map((route) => [route.operationId, route.handlerFactory()])),
  );
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      // Keep one byte past the limit so the gateway sees the body is too large; drop the rest.
      if (size <= MAX_PAYLOAD_BYTES) {
        chunks.push(chunk);
      }
      size += chunk.length;
    });
    request.on("end", () => resolve(Buffer.concat(chunks).subarray(0, MAX_PAYLOAD_BYTES + 1)));
    request.on("error", reject);
  });
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  ensureLocalAwsEnvironment();
  const engine: Engine | undefined =
    options.dynamoDbEndpoint === undefined ? await startEmbeddedEngine(options.dataDir) : undefined;
  const endpoint = options.dynamoDbEndpoint ?? engine?.endpoint ?? "";
  const tableNames = options.tableNames ?? {
    items: "items-api-local-items",
    idempotency: "items-api-local-idempotency",
  };
  try {
    return await serve(options, engine, endpoint, tableNames);
  } catch (error) {
    await engine?.close();
    throw error;
  }
}

async function serve(
  options: LocalApiOptions,
  engine: Engine | undefined,
  endpoint: string,
  tableNames: { items: string; idempotency: string },
): Promise<LocalApi> {
  const routes = options.routes ?? defaultRoutes;
  const settings = options.settings;
  const client = engineClient(endpoint);
  try {
    await ensureTables(client, [
      { definition: ITEMS_TABLE, name: tableNames.items },
      { definition: IDEMPOTENCY_TABLE, name: tableNames.idempotency },
    ]);
  } finally {
    client.destroy();
  }

  const environment: Record<string, string> = {
    [ITEMS_TABLE.environmentVariable]: tableNames.items,
    [IDEMPOTENCY_TABLE.environmentVariable]: tableNames.idempotency,
    CURSOR_SECRET: process.env.CURSOR_SECRET ?? "items-api-local-cursor-secret",
    CORS_ALLOWED_ORIGINS: settings.corsAllowedOrigins.join(","),
    // The runtime writes the one access line per request; handler logs show warnings and up
    // unless HANDLER_LOG_LEVEL asks for more (in AWS they go to the function's log group).
    LOG_LEVEL: process.env.HANDLER_LOG_LEVEL ?? "warn",
    DYNAMODB_ENDPOINT: endpoint,
    ...options.environment,
  };
  const apiKey = settings.apiKeys.required ? (options.apiKey ?? randomBytes(20).toString("base64url")) : undefined;
  // The body the stack deploys, each integration pointing at a local function of the stack's name.
  const stack = options.stack ?? "local";
  const functionNames = Object.fromEntries(
    routes.map((route) => [route.operationId, `${PROJECT_NAME}-${stack}-${route.operationId}`]),
  );
  const invokeArns = Object.fromEntries(
    Object.entries(functionNames).map(([operationId, name]) => [
      operationId,
      lambdaInvokeArn(LOCAL_REGION, `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`),
    ]),
  );
  const built = restApiBody(settings, routes, invokeArns);
  const body = options.transformBody?.(built) ?? built;
  const handlers = options.handlers ?? buildHandlers(routes, environment);
  let domainName = "";
  const gateway = createGateway({
    document: body,
    functions: Object.fromEntries(
      Object.entries(functionNames).flatMap(([operationId, name]) => {
        const handler = handlers[operationId];
        return handler === undefined ? [] : [[name, handler]];
      }),
    ),
    apiKeys: apiKey === undefined ? [] : [apiKey],
    functionTimeoutMs: options.timeoutMs ?? settings.lambda.timeoutSeconds * 1000,
    memoryMb: settings.lambda.memoryMb,
    stage: stack,
    domainName: () => domainName,
    acceptImportFindings: options.acceptImportFindings,
  });
  const pages = createLocalPages(
    JSON.stringify(buildOpenApiDocument({ apiKeyRequired: settings.apiKeys.required }, routes), null, 2),
  );
  const accessLog = options.accessLog ?? ((line: string) => process.stdout.write(line + "\n"));

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    inFlight += 1;
    const started = Date.now();
    void (async () => {
      try {
        const body = await readBody(request);
        const method = request.method ?? "GET";
        const url = request.url ?? "/";
        const page = pages(method, url.split("?")[0] ?? "/");
        const result = page
          ? { ...page, requestId: "-", extendedRequestId: "-" }
          : await gateway({
              method,
              url,
              rawHeaders: request.rawHeaders,
              body,
              sourceIp: request.socket.remoteAddress ?? "",
            });
        response.writeHead(result.statusCode, result.headers);
        response.end(result.body);
        accessLog(
          JSON.stringify({
            time: new Date().toISOString(),
            requestId: result.extendedRequestId,
            method,
            path: url.split("?")[0],
            operationId: "operationId" in result ? result.operationId : undefined,
            status: result.statusCode,
            latencyMs: Date.now() - started,
            ...("detail" in result && result.detail !== undefined ? { detail: result.detail } : {}),
          }),
        );
      } catch (error) {
        // A fault of the runtime itself: still the envelope, with an id to find the log line by.
        const requestId = randomUUID();
        response.writeHead(500, { "Content-Type": "application/json", "x-request-id": requestId });
        response.end(JSON.stringify({ error: { code: "internal_error", message: "internal error", requestId } }));
        accessLog(
          JSON.stringify({ time: new Date().toISOString(), level: "error", requestId, message: String(error) }),
        );
      } finally {
        inFlight -= 1;
        if (inFlight === 0) {
          drained?.();
        }
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  domainName = `${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}/`,
    apiKey,
    dynamoDbEndpoint: endpoint,
    tableNames,
    environment,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await new Promise<void>((resolve) => (drained = resolve));
        }
        server.closeAllConnections();
        await stopped;
        await engine?.close();
      })();
      return closing;
    },
  };
}
