/**
 * A small HTTP client for the contract: real requests over HTTP or HTTPS with Node's own client,
 * so that a header can be sent on several lines, any method goes out, and nothing is added to
 * what the caller sends (no Content-Type of its own). An observer sees every exchange, for the
 * checks against the document and the latency figures of `npm run verify`.
 */
import { Agent as HttpAgent, IncomingHttpHeaders, request as httpRequest } from "http";
import { Agent as HttpsAgent, request as httpsRequest } from "https";

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions walk arbitrary JSON
  json: any;
}

export interface RequestOptions {
  /** Serialized as JSON with Content-Type application/json unless `contentType` says otherwise. */
  json?: unknown;
  /** Raw body, sent as is. */
  raw?: string | Buffer;
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Header lines sent as given, after `headers`; a name may repeat. */
  headerLines?: [string, string][];
}

/** One request and its answer, as an observer sees it. */
export interface Exchange {
  method: string;
  /** Path and query as sent, relative to the base URL's origin, e.g. `/dev/items?limit=2`. */
  target: string;
  /** The path relative to the base URL, e.g. `/items/abc`. */
  path: string;
  query: string;
  requestHeaders: [string, string][];
  requestBody: Buffer | undefined;
  response: ApiResponse;
  durationMs: number;
}

export type Observer = (exchange: Exchange) => void;

function headersOf(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    for (const member of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      headers.append(name, member);
    }
  }
  return headers;
}

function send(
  url: URL,
  method: string,
  lines: [string, string][],
  body: Buffer | undefined,
  agent: HttpAgent,
): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = (url.protocol === "https:" ? httpsRequest : httpRequest)({
      agent,
      host: url.hostname,
      port: url.port,
      method,
      path: `${url.pathname}${url.search}`,
    });
    const grouped = new Map<string, { name: string; values: string[] }>();
    for (const [name, value] of lines) {
      const entry = grouped.get(name.toLowerCase()) ?? { name, values: [] };
      entry.values.push(value);
      grouped.set(name.toLowerCase(), entry);
    }
    for (const { name, values } of grouped.values()) {
      outgoing.setHeader(name, values.length === 1 ? (values[0] ?? "") : values);
    }
    if (body !== undefined) {
      outgoing.setHeader("Content-Length", body.length);
    }
    outgoing.on("response", (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () =>
        resolve({
          status: incoming.statusCode ?? 0,
          headers: headersOf(incoming.headers),
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      incoming.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

export function client(baseUrl: string, defaultHeaders: Record<string, string> = {}, observe?: Observer) {
  const base = new URL(baseUrl);
  const agent = base.protocol === "https:" ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  return async function request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...defaultHeaders, ...options.headers };
    let body: Buffer | undefined;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json), "utf8");
      if (options.contentType !== null) {
        headers["Content-Type"] = options.contentType ?? "application/json";
      }
    } else if (options.raw !== undefined) {
      body = Buffer.isBuffer(options.raw) ? options.raw : Buffer.from(options.raw, "utf8");
      if (options.contentType !== undefined && options.contentType !== null) {
        headers["Content-Type"] = options.contentType;
      }
    }
    const url = new URL(path.replace(/^\//, ""), base);
    const lines: [string, string][] = [...Object.entries(headers), ...(options.headerLines ?? [])];
    const started = performance.now();
    const answer = await send(url, method, lines, body, agent);
    const durationMs = performance.now() - started;
    let json: unknown;
    try {
      json = answer.text === "" ? undefined : JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    const response: ApiResponse = { ...answer, json };
    observe?.({
      method,
      target: `${url.pathname}${url.search}`,
      path: `/${url.pathname.slice(base.pathname.length)}`,
      query: url.search,
      requestHeaders: lines,
      requestBody: body,
      response,
      durationMs,
    });
    return response;
  };
}

export type Request = ReturnType<typeof client>;
