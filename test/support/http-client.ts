/**
 * A small HTTP client for the contract tests: real requests over loopback with Node's fetch.
 * Bodies are sent as bytes so that fetch adds no Content-Type of its own.
 */

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
}

export function client(baseUrl: string, defaultHeaders: Record<string, string> = {}) {
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
    const response = await fetch(new URL(path.replace(/^\//, ""), baseUrl), { method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  };
}

export type Request = ReturnType<typeof client>;
