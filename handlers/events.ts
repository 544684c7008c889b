/**
 * What a handler is given: an API Gateway REST proxy event (payload v1) and a Lambda context,
 * built in one place. The local gateway builds its events and contexts with these, and so do the
 * tests and the bench. No handler imports this module, so it never ships in a Lambda archive.
 */
import { randomUUID } from "crypto";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";

export interface ProxyEventParts {
  method: string;
  /** The path as routed, without stage or base path, e.g. `/items/abc`. */
  path: string;
  /** The resource template it matched, e.g. `/items/{id}`. */
  resource: string;
  pathParameters?: Record<string, string> | null;
  /** Query parameters in order; a name may repeat. */
  query?: [string, string][];
  /** Header lines in order, the client's casing kept; a name may repeat. */
  headers?: [string, string][];
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: Partial<APIGatewayProxyEvent["requestContext"]>;
}

/** `requestContext.identity`: only the caller's address, agent and API key. */
export function proxyIdentity(
  sourceIp: string,
  userAgent: string | undefined,
  apiKey: string | undefined,
): APIGatewayProxyEvent["requestContext"]["identity"] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: apiKey ?? null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent: userAgent ?? null,
    userArn: null,
  };
}

/**
 * A v1 proxy event. `headers` holds the last value of each name (in the casing first seen) and
 * `multiValueHeaders` every value; the query likewise; both query maps are null without a query.
 */
export function proxyEvent(parts: ProxyEventParts): APIGatewayProxyEvent {
  // Names are the client's: collected in Maps, so that `__proto__` or `toString` is a name like
  // any other, and turned into own properties by Object.fromEntries.
  const casing = new Map<string, string>();
  const headerLines = new Map<string, string[]>();
  for (const [name, value] of parts.headers ?? []) {
    const key = casing.get(name.toLowerCase()) ?? name;
    casing.set(name.toLowerCase(), key);
    headerLines.set(key, [...(headerLines.get(key) ?? []), value]);
  }
  const queryValues = new Map<string, string[]>();
  for (const [name, value] of parts.query ?? []) {
    queryValues.set(name, [...(queryValues.get(name) ?? []), value]);
  }
  const lastOf = (values: Map<string, string[]>) =>
    Object.fromEntries([...values].map(([name, all]) => [name, all[all.length - 1] ?? ""]));
  const headers = lastOf(headerLines);
  const multiValueHeaders = Object.fromEntries(headerLines);
  const query = lastOf(queryValues);
  const multiValueQuery = Object.fromEntries(queryValues);
  const hasQuery = queryValues.size > 0;
  const header = (name: string) => headerLines.get(casing.get(name) ?? name)?.at(-1);
  return {
    resource: parts.resource,
    path: parts.path,
    httpMethod: parts.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: parts.pathParameters ?? null,
    stageVariables: null,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: undefined,
      domainName: "localhost",
      extendedRequestId: randomUUID(),
      httpMethod: parts.method,
      identity: proxyIdentity("127.0.0.1", header("user-agent"), header("x-api-key")),
      path: parts.path,
      protocol: "HTTP/1.1",
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: parts.resource,
      stage: "local",
      ...parts.requestContext,
    },
    body: parts.body ?? null,
    isBase64Encoded: parts.isBase64Encoded ?? false,
  };
}

export interface ContextParts {
  functionName?: string;
  memoryMb?: number;
  /** Epoch milliseconds at which the invocation times out. */
  deadline?: number;
}

/** A Lambda context for an async handler (callback-style completion is refused). */
export function lambdaContext(parts: ContextParts = {}): Context {
  const functionName = parts.functionName ?? "local";
  const deadline = parts.deadline ?? Date.now() + 10000;
  const unsupported = (): never => {
    throw new Error("callback-style completion is not supported: handlers are async");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(parts.memoryMb ?? 256),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
