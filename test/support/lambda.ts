/** Proxy events and Lambda contexts for calling handlers directly. */
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { lambdaContext as buildLambdaContext, proxyEvent as buildProxyEvent } from "../../handlers/events";

export interface EventOptions {
  method: string;
  path: string;
  resource: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A request as API Gateway delivers it to a handler, through handlers/events.ts. */
export function proxyEvent(options: EventOptions): APIGatewayProxyEvent {
  const headers = {
    Host: "api.example.com",
    "X-Forwarded-Proto": "https",
    ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
    ...options.headers,
  };
  return buildProxyEvent({
    method: options.method,
    path: options.path,
    resource: options.resource,
    pathParameters: options.pathParameters ?? null,
    query: Object.entries(options.query ?? {}),
    headers: Object.entries(headers),
    body:
      options.body === undefined
        ? null
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
    requestContext: { domainName: "api.example.com", path: `/test${options.path}`, stage: "test" },
  });
}

/** POST /items with `body` (JSON unless a string), as createItem receives it. */
export const createEvent = (body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent =>
  proxyEvent({ method: "POST", path: "/items", resource: "/items", body, headers });

/** `method` /items/{id} with an optional body, as the item routes receive it. */
export const itemEvent = (
  method: string,
  id: string,
  body?: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyEvent =>
  proxyEvent({ method, path: `/items/${id}`, resource: "/items/{id}", pathParameters: { id }, body, headers });

/** A Lambda context whose deadline is `remainingMs` from now. */
export function lambdaContext(remainingMs = 10000): Context {
  return buildLambdaContext({ functionName: "test", deadline: Date.now() + remainingMs });
}
