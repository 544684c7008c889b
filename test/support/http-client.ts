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

/** A request exactly as it goes out. */
export interface RawRequest {
  method: string;
  /** Request target as sent: path and query, e.g. `/items?limit=5`. */
  target: string;
  /** In order; a name given twice is sent as two header lines. */
  headers: [string, string][];
  body?: Buffer;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * Sends one request with Node's own client, which sends a request target exactly as given (any
 * visible ASCII, percent-encoding included), repeated headers, header values with obs-text
 * bytes, and any body bytes. A body gets its Content-Length unless the request gives its own:
 * Node frames a GET, DELETE or OPTIONS body only when told its length.
 */
export function sendRaw(origin: URL, agent: HttpAgent, request: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = (origin.protocol === "https:" ? httpsRequest : httpRequest)({
      agent,
      host: origin.hostname,
      port: origin.port,
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
      outgoing.setHeader("Content-Length", request.body.length);
    }
    outgoing.on("response", (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () =>
        resolve({
          status: incoming.statusCode ?? 0,
          headers: incoming.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      incoming.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(request.body);
  });
}

/** A body parsed as JSON; undefined when it is empty or not JSON. */
export function jsonOf(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
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
    const target = `${url.pathname}${url.search}`;
    const started = performance.now();
    const answer = await sendRaw(url, agent, { method, target, headers: lines, body });
    const durationMs = performance.now() - started;
    const response: ApiResponse = { ...answer, headers: headersOf(answer.headers), json: jsonOf(answer.text) };
    observe?.({
      method,
      target,
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
