/**
 * The one place that turns a handler's outcome into an API Gateway proxy response: error
 * envelope, request id, security and CORS headers, and one log line per request. Operations
 * only return a reply or throw.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { ownerOf } from "./caller";
import { Dependencies, createDependencies } from "./dependencies";
import { ErrorEnvelope, HttpError, internalError, isHttpError } from "./errors";
import { CORRELATION_ID_HEADER, SECURITY_HEADERS, corsHeaders } from "./headers";
import { describeError } from "./logger";
import { Preconditions, headerOf, preconditionsOf } from "./request";
import { RequestStore } from "./dynamodb";

export interface Reply {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Invocation {
  event: APIGatewayProxyEvent;
  context: Context;
  requestId: string;
  deps: Dependencies;
  store: RequestStore;
  /** The request's conditional headers, parsed once for every operation (400 when malformed). */
  preconditions: Preconditions;
}

export type Operation = (invocation: Invocation) => Promise<Reply>;

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Lambda's response payload limit for a synchronous invocation, the proxy result as JSON ("Lambda
 * quotas": 6 MB for request and response). Past it Lambda fails the invocation ("Response payload
 * size exceeded maximum allowed payload size (6291556 bytes)") and API Gateway answers with its
 * INTEGRATION_FAILURE response: handlers keep their results under it.
 */
export const MAX_PROXY_RESULT_BYTES = 6 * 1024 * 1024;

/** Time kept back from the Lambda deadline so a slow store still gets a 503 out in time. */
const DEADLINE_MARGIN_MS = 500;

/** A caller's `x-correlation-id` is kept when it is 1 to 128 printable characters. */
const CORRELATION_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/**
 * The proxy handler of an operation. Its request id is API Gateway's extended request id: API
 * Gateway generates it, returns it in `x-amz-apigw-id` on every response (its own included), and
 * no caller can set it, unlike `requestId`, which a client may override through
 * `x-amzn-RequestId` (AWS, "Set up CloudWatch logging for a REST API"). Its log line never holds
 * the body or headers: they may hold personal data or keys.
 */
export function createHandler(operationId: string, operation: Operation, deps: Dependencies): ProxyHandler {
  return async (event, context) => {
    const started = Date.now();
    const requestId =
      event.requestContext?.extendedRequestId || event.requestContext?.requestId || context.awsRequestId;
    const offered = headerOf(event, CORRELATION_ID_HEADER);
    const correlationId = offered !== undefined && CORRELATION_ID_PATTERN.test(offered) ? offered : requestId;
    const remaining = context.getRemainingTimeInMillis();
    const store: RequestStore = {
      doc: deps.doc,
      owner: "",
      itemsTable: deps.settings.tableName,
      idempotencyTable: deps.settings.idempotencyTableName,
      abortSignal: Number.isFinite(remaining)
        ? AbortSignal.timeout(Math.max(1, remaining - DEADLINE_MARGIN_MS))
        : undefined,
      consumed: { capacityUnits: 0 },
    };
    let reply: Reply;
    let failure: HttpError | undefined;
    try {
      store.owner = ownerOf(event, deps.settings);
      const preconditions = preconditionsOf(event);
      store.doc = await deps.docFor(store.owner, store.abortSignal);
      reply = await operation({ event, context, requestId, deps, store, preconditions });
    } catch (error) {
      failure = isHttpError(error) ? error : internalError(error);
      const body: ErrorEnvelope = { error: { code: failure.code, message: failure.message, requestId } };
      reply = { statusCode: failure.statusCode, body, headers: failure.headers };
      if (failure.statusCode >= 500) {
        deps.log.error("request failed", { operationId, requestId, correlationId, ...describeError(error) });
      }
    }
    const headers: Record<string, string> = {
      ...(reply.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...SECURITY_HEADERS,
      "x-request-id": requestId,
      [CORRELATION_ID_HEADER]: correlationId,
      ...corsHeaders(deps.settings.corsAllowedOrigins, headerOf(event, "origin")),
      ...reply.headers,
    };
    deps.log.info("request", {
      operationId,
      requestId,
      correlationId,
      method: event.httpMethod,
      path: event.path,
      status: reply.statusCode,
      errorCode: failure?.code,
      latencyMs: Date.now() - started,
      consumedCapacityUnits: store.consumed.capacityUnits,
    });
    // HEAD: the headers GET would send, without the body (RFC 9110 §9.3.2).
    return {
      statusCode: reply.statusCode,
      headers,
      body: reply.body === undefined || event.httpMethod === "HEAD" ? "" : JSON.stringify(reply.body),
    };
  };
}

/** A `callbackFactory` for CallbackFunction: dependencies are built once per container. */
export function handlerFactory(operationId: string, operation: Operation): () => ProxyHandler {
  return () => createHandler(operationId, operation, createDependencies());
}
