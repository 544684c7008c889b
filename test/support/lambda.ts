/** Proxy events and Lambda contexts for calling handlers directly. */
import { randomUUID } from "crypto";
import { proxyIdentity } from "../../local/gateway";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";

export interface EventOptions {
  method: string;
  path: string;
  resource: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

export function proxyEvent(options: EventOptions): APIGatewayProxyEvent {
  const headers = {
    Host: "api.example.com",
    "X-Forwarded-Proto": "https",
    ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
    ...options.headers,
  };
  return {
    resource: options.resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([key, value]) => [key, [value]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query
      ? Object.fromEntries(Object.entries(options.query).map(([key, value]) => [key, [value]]))
      : null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    requestContext: {
      accountId: "123456789012",
      apiId: "test",
      authorizer: undefined,
      domainName: "api.example.com",
      httpMethod: options.method,
      identity: proxyIdentity("127.0.0.1", "test", undefined),
      path: `/test${options.path}`,
      protocol: "HTTP/1.1",
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: "test",
      resourcePath: options.resource,
      stage: "test",
    },
    body:
      options.body === undefined
        ? null
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
    isBase64Encoded: false,
  };
}

/** A Lambda context whose deadline is `remainingMs` from now. */
export function lambdaContext(remainingMs = 10000): Context {
  const deadline = Date.now() + remainingMs;
  const unsupported = (): never => {
    throw new Error("not supported");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "test",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:test",
    memoryLimitInMB: "256",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/test",
    logStreamName: "test",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
