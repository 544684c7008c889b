/** Helpers shared by the unit tests: errors thrown by pure functions, and bare proxy events. */
import { expect } from "chai";
import { proxyEvent as buildProxyEvent } from "../../handlers/events";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { ErrorCode, isHttpError } from "../../handlers/errors";

/** The value `fn` throws; fails the test when it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail("expected the call to throw, but it returned");
}

/** `fn` throws an HttpError with exactly this status, code and (when given) message. */
export function expectHttpError(fn: () => unknown, statusCode: number, code: ErrorCode, message?: string): void {
  const error = thrownBy(fn);
  if (!isHttpError(error)) {
    expect.fail(`expected an HttpError, got ${String(error)}`);
  }
  expect({ statusCode: error.statusCode, code: error.code }).to.deep.equal({ statusCode, code });
  if (message !== undefined) {
    expect(error.message).to.equal(message);
  }
}

/** `fn` throws a plain Error (not an HttpError) with exactly this message. */
export function expectPlainError(fn: () => unknown, message: string): void {
  const error = thrownBy(fn);
  expect(error).to.be.instanceOf(Error);
  expect(isHttpError(error)).to.equal(false);
  expect((error as Error).message).to.equal(message);
}

export interface EventParts {
  headers?: Record<string, string>;
  body?: string | null;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string> | null;
  path?: string;
  /** `requestContext.path`: the path as the client called it, stage or base path included. */
  fullPath?: string;
  domainName?: string;
}

/** A REST proxy event with only what the parts say: no headers unless given. */
export function proxyEvent(parts: EventParts = {}): APIGatewayProxyEvent {
  const path = parts.path ?? "/items";
  return buildProxyEvent({
    method: "POST",
    path,
    resource: "/items",
    pathParameters: parts.pathParameters ?? null,
    headers: Object.entries(parts.headers ?? {}),
    body: parts.body ?? null,
    isBase64Encoded: parts.isBase64Encoded ?? false,
    requestContext: { domainName: parts.domainName, path: parts.fullPath ?? path, requestId: "req-1", stage: "dev" },
  });
}
