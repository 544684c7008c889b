/**
 * The local runtime: the embedded DynamoDB engine (or another endpoint), the tables, the
 * handlers built from the route table exactly as each Lambda builds them, and an HTTP server
 * that puts the API Gateway emulation in front of them.
 */
import { randomBytes, randomUUID } from "crypto";
import { createServer, IncomingMessage, ServerResponse, STATUS_CODES } from "http";
import type { Socket } from "net";
import { ERROR_MESSAGES, ERROR_STATUS, ErrorCode, ErrorEnvelope } from "../handlers/errors";
import { HANDLER_VARIABLES, handlerEnvironment, parseLogLevel } from "../handlers/env";
import { SECURITY_HEADERS } from "../handlers/headers";
import { AddressInfo } from "net";
import type { ProxyHandler } from "../handlers/http";
import { MAX_PAYLOAD_BYTES } from "../infra/apigateway-import";
import { lambdaInvokeArn, restApiBody } from "../infra/apigateway-openapi";
import { Settings } from "../infra/config";
import { OpenApiDocument } from "../infra/openapi";
import { Route, routes as defaultRoutes } from "../infra/routes";
import { createLocalPages } from "./docs";
import { withEnvironmentSync } from "./environment";
import { Engine, ensureApiTables, startEmbeddedEngine } from "./engine";
import { createGateway } from "./gateway";
import { LocalIssuer, localIssuer } from "./issuer";
import { LOCAL_ACCOUNT, LOCAL_REGION, PROJECT_NAME, keptInDataDir } from "./stack-settings";

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
  /** Handler variables to set over those the runtime builds (e.g. fewer DynamoDB attempts). */
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
  /** With sign-in: the local token issuer standing in for the stack's user pool. */
  issuer: LocalIssuer | undefined;
  /** Stops accepting, waits for requests in flight, then closes the engine. */
  close(): Promise<void>;
}

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

/** The body as received, or undefined when the client went away before sending all of it. */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
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
    request.on("error", () => resolve(undefined));
    request.on("close", () => resolve(request.complete ? Buffer.concat(chunks) : undefined));
  });
}

/**
 * The cursor secret of the local runtime: the handlers' cursor secret variable when set; else
 * one per stack and data directory, generated once and kept beside the data (so cursors survive
 * a restart, and one stack's cursors mean nothing to another); in memory without a data directory.
 */
export function localCursorSecret(dataDir: string | undefined, stack: string): string {
  const configured = process.env[HANDLER_VARIABLES.cursorSecret];
  if (configured !== undefined && configured !== "") {
    return configured;
  }
  if (dataDir === undefined) {
    return randomBytes(32).toString("base64url");
  }
  return keptInDataDir(dataDir, `cursor-secret-${stack}`, () => randomBytes(32).toString("base64url")).trim();
}

/** Headers of every response the runtime makes itself (not the document's). */
function localHeaders(requestId: string): Record<string, string> {
  return { ...SECURITY_HEADERS, "x-request-id": requestId };
}

function envelope(code: ErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message, requestId } } satisfies ErrorEnvelope);
}

/** A response written to a socket Node no longer manages (a parse error, CONNECT), then closed. */
function writeRaw(
  socket: Socket,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | string,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = Object.entries({ ...headers, "Content-Length": String(Buffer.byteLength(body)), Connection: "close" })
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((line) => `${name}: ${line}\r\n`))
    .join("");
  socket.end(
    Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n${lines}\r\n`), Buffer.from(body)]),
  );
}

/**
 * An absolute-form target (`http://host/items?limit=2`) as origin-form (`/items?limit=2`): a server
 * MUST accept the absolute form (RFC 9112 §3.2.2). Any other target is kept as it came.
 */
function originFormOf(target: string): string {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (match === null) {
    return target;
  }
  const rest = target.slice(match[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/**
 * "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that
 * lacks a Host header field" (RFC 9112 §3.2), answered here in the envelope.
 */
function hostRefusal(request: IncomingMessage) {
  if (request.httpVersion !== "1.1" || request.headers.host !== undefined) {
    return undefined;
  }
  const requestId = randomUUID();
  return {
    statusCode: ERROR_STATUS.validation_failed,
    headers: { "Content-Type": "application/json", ...localHeaders(requestId) } as Record<string, string>,
    body: envelope("validation_failed", "an HTTP/1.1 request must carry a Host header", requestId),
    operationId: undefined,
  };
}

/** What Node's parser refused, as the client reads it (the details stay in the log). */
function clientErrorMessage(error: NodeJS.ErrnoException): string {
  if (error.code === "HPE_HEADER_OVERFLOW") {
    return "the request headers are larger than this server accepts (16 KB)";
  }
  return "the request is not valid HTTP/1.1";
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
  await ensureApiTables(endpoint, tableNames);
  const issuer =
    settings.signIn.mode === "cognito" ? await localIssuer(options.stack ?? "local", options.dataDir) : undefined;
  // LAMBDA_TIMEOUT_MS (options.timeoutMs) stands for the function's timeout everywhere the stack's
  // would apply: the gateway's deadline and the DynamoDB timeout per attempt derived from it.
  const functionTimeoutMs = options.timeoutMs ?? settings.lambda.timeoutSeconds * 1000;

  const environment: Record<string, string> = {
    ...handlerEnvironment({
      tableNames,
      cursorSecret: localCursorSecret(options.dataDir, options.stack ?? "local"),
      // The runtime writes the one access line per request; handler logs show warnings and up
      // unless HANDLER_LOG_LEVEL asks for more (in AWS they go to the function's log group).
      settings: {
        ...settings,
        lambda: { ...settings.lambda, timeoutSeconds: functionTimeoutMs / 1000 },
        logLevel: parseLogLevel(process.env.HANDLER_LOG_LEVEL ?? "warn", "HANDLER_LOG_LEVEL"),
      },
      dynamoDb: { endpoint },
      signIn: issuer === undefined ? undefined : { cognitoClientIds: issuer.clientId },
    }),
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
  const built = restApiBody(settings, routes, invokeArns, issuer?.userPoolArn);
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
    functionTimeoutMs,
    memoryMb: settings.lambda.memoryMb,
    stage: stack,
    domainName: () => domainName,
    acceptImportFindings: options.acceptImportFindings,
    userPools: issuer === undefined ? {} : { [issuer.userPoolArn]: issuer.jwks },
  });
  const pages = createLocalPages();
  const accessLog = options.accessLog ?? ((line: string) => process.stdout.write(line + "\n"));
  const log = (entry: Record<string, unknown>) =>
    accessLog(JSON.stringify({ time: new Date().toISOString(), ...entry }));

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const handleRequest = (request: IncomingMessage, response: ServerResponse) => {
    inFlight += 1;
    const started = Date.now();
    const method = request.method ?? "GET";
    const url = originFormOf(request.url ?? "/");
    const path = url.split("?")[0] ?? "/";
    void (async () => {
      try {
        const body = await readBody(request);
        if (body === undefined) {
          // The client went away mid-upload: nobody to answer, nothing went wrong here.
          log({ level: "info", method, path, message: "the client closed the connection before its body arrived" });
          return;
        }
        const page = pages(method, path);
        const refusal = hostRefusal(request);
        const result =
          refusal ??
          (page
            ? { ...page, headers: { ...page.headers, ...localHeaders(randomUUID()) }, operationId: undefined }
            : await gateway({
                method,
                url,
                rawHeaders: request.rawHeaders,
                body,
                sourceIp: request.socket.remoteAddress ?? "",
              }));
        response.writeHead(result.statusCode, result.headers);
        response.end(result.body);
        log({
          requestId: "extendedRequestId" in result ? result.extendedRequestId : result.headers["x-request-id"],
          method,
          path,
          operationId: result.operationId,
          status: result.statusCode,
          latencyMs: Date.now() - started,
          ...("detail" in result && result.detail !== undefined ? { detail: result.detail } : {}),
        });
      } catch (error) {
        // A fault of the runtime itself: still the envelope, with an id to find the log line by.
        const requestId = randomUUID();
        if (!response.headersSent) {
          response.writeHead(ERROR_STATUS.internal_error, {
            "Content-Type": "application/json",
            ...localHeaders(requestId),
          });
        }
        response.end(envelope("internal_error", ERROR_MESSAGES.internal_error, requestId));
        log({ level: "error", requestId, method, path, message: String(error) });
      } finally {
        inFlight -= 1;
        if (inFlight === 0) {
          drained?.();
        }
      }
    })();
  };
  // Node's own answers would be bare status lines: a missing Host (400) is answered above, in
  // the envelope; an Expect other than 100-continue is ignored, as RFC 9110 §10.1.1 allows ("MAY
  // respond with a 417"), and the request answered as any other.
  const server = createServer({ requireHostHeader: false }, handleRequest);
  server.on("checkExpectation", handleRequest);
  // CONNECT: Node hands over the socket. Answered by the gateway like any method it does not
  // route (an authority-form target such as `example.com:443` names no resource: 404), then closed.
  server.on("connect", (request: IncomingMessage, socket: Socket) => {
    void (async () => {
      const result = await gateway({
        method: request.method ?? "CONNECT",
        url: request.url ?? "",
        rawHeaders: request.rawHeaders,
        body: Buffer.alloc(0),
        sourceIp: request.socket.remoteAddress ?? "",
      });
      writeRaw(socket, result.statusCode, result.headers, result.body);
      log({
        requestId: result.extendedRequestId,
        method: request.method,
        path: request.url,
        status: result.statusCode,
      });
    })().catch(() => socket.destroy());
  });
  // Requests Node's parser refuses (a bad method token, headers over 16 KB, a malformed line)
  // get the envelope too, instead of Node's bare status line.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    // The client left mid-request (the request handler logs an unfinished body).
    if (error.code === "ECONNRESET" || error.code === "HPE_INVALID_EOF_STATE" || !socket.writable) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    const code = "validation_failed";
    writeRaw(
      socket,
      ERROR_STATUS[code],
      { "Content-Type": "application/json", ...localHeaders(requestId) },
      envelope(code, clientErrorMessage(error), requestId),
    );
    log({
      level: "info",
      requestId,
      status: ERROR_STATUS[code],
      message: `refused by the HTTP parser: ${error.code ?? error.message}`,
    });
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
    issuer,
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
