/**
 * Raw HTTP for the reliability suite. Unlike fetch, Node's http client sends a request target
 * exactly as given (any visible ASCII, percent-encoding included), repeated headers, header
 * values with obs-text bytes, and any body bytes, so fuzzed requests reach the server unaltered.
 */
import { Agent, IncomingHttpHeaders, request as httpRequest } from "http";
import { expect } from "chai";
import { ERROR_STATUS, ErrorCode } from "../../handlers/errors";

export interface RawRequest {
  method: string;
  /** Request target as sent: path and query, e.g. `/items?limit=5`. */
  target: string;
  /** In order; a name given twice is sent as two header lines. */
  headers: [string, string][];
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed body; undefined when empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
  json: any;
  latencyMs: number;
}

export interface RawClient {
  send(request: RawRequest): Promise<RawResponse>;
  close(): void;
}

export function rawClient(baseUrl: string): RawClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    send: (request) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const outgoing = httpRequest({
          agent,
          host: url.hostname,
          port: url.port,
          method: request.method,
          path: request.target,
        });
        const grouped = new Map<string, { name: string; values: string[] }>();
        for (const [name, value] of request.headers) {
          const entry = grouped.get(name.toLowerCase()) ?? { name, values: [] };
          entry.values.push(value);
          grouped.set(name.toLowerCase(), entry);
        }
        for (const { name, values } of grouped.values()) {
          outgoing.setHeader(name, values.length === 1 ? (values[0] ?? "") : values);
        }
        if (request.body !== undefined && !grouped.has("content-length")) {
          // Node frames a GET/DELETE/OPTIONS body only when told its length.
          outgoing.setHeader("Content-Length", request.body.length);
        }
        outgoing.on("error", reject);
        outgoing.on("response", (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown;
            try {
              json = text === "" ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              text,
              json,
              latencyMs: Date.now() - started,
            });
          });
        });
        outgoing.end(request.body);
      }),
    close: () => agent.destroy(),
  };
}

/** A header as one string (Node joins repeated ones; the API never repeats the ones checked). */
export function headerValue(headers: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (headers instanceof Headers) {
    return headers.get(name) ?? undefined;
  }
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * DESIGN §2's error envelope, exactly: `{"error":{"code","message","requestId"}}` as JSON, the
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
