/**
 * The API's error envelope (README, "The HTTP API"), checked the same way by the contract and the reliability
 * suite, on either kind of headers their clients return.
 */
import { IncomingHttpHeaders } from "http";
import { expect } from "chai";
import { ERROR_STATUS, ErrorCode } from "../../handlers/errors";

/** A header as one string (Node joins repeated ones; the API never repeats the ones checked). */
export function headerValue(headers: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (headers instanceof Headers) {
    return headers.get(name) ?? undefined;
  }
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * The README's error envelope, exactly: `{"error":{"code","message","requestId"}}` as JSON, the
 * code one of the API's codes and consistent with the status, requestId equal to x-amz-apigw-id.
 */
export function expectErrorEnvelope(response: {
  status: number;
  headers: IncomingHttpHeaders | Headers;
  text: string;
  json: unknown;
}): void {
  const context = `${response.status} ${response.text.slice(0, 300)}`;
  expect(headerValue(response.headers, "content-type"), context).to.equal("application/json");
  expect(response.json, context).to.be.an("object").that.has.all.keys("error");
  const { error } = response.json as { error: Record<string, unknown> };
  expect(error, context).to.be.an("object").that.has.all.keys("code", "message", "requestId");
  expect(Object.keys(ERROR_STATUS), context).to.include(error.code);
  expect(ERROR_STATUS[error.code as ErrorCode], context).to.equal(response.status);
  expect(error.message, context).to.be.a("string").and.not.equal("");
  expect(error.requestId, context).to.be.a("string").and.not.equal("");
  // API Gateway's extended request id, on every response (x-amz-apigw-id); answers of the
  // functions also carry it as x-request-id, API Gateway's own cannot.
  expect(error.requestId, context).to.equal(headerValue(response.headers, "x-amz-apigw-id"));
  const requestIdHeader = headerValue(response.headers, "x-request-id");
  if (requestIdHeader !== undefined) {
    expect(error.requestId, context).to.equal(requestIdHeader);
  }
}
