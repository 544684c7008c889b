/**
 * DynamoDB calls per operation, counted on the wire: the local runtime (dev stack settings) talks
 * to the embedded engine through a recording proxy, and the DynamoDB requests (by X-Amz-Target)
 * that arrive while one API request is answered are what that operation costs, retries included.
 */
import { IncomingHttpHeaders, createServer, request } from "http";
import type { AddressInfo } from "net";
import { startEmbeddedEngine } from "../local/engine";
import { startLocalApi } from "../local/server";
import { readStackSettings } from "../local/stack-settings";

/** A DynamoDB request as it went over the wire (signed), ready to be sent again. */
export interface RecordedRequest {
  /** The operation, e.g. `GetItem`. */
  command: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTP proxy to `target` that records every request it forwards. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const method = incoming.method ?? "POST";
      const path = incoming.url ?? "/";
      const command = String(incoming.headers["x-amz-target"] ?? "").replace(/^DynamoDB_\d+\./, "");
      requests.push({ command, method, path, headers: incoming.headers, body: body.toString("utf8") });
      const forwarded = request({ hostname, port, method, path, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forwarded.on("error", (error) => outgoing.destroy(error));
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export interface CallCount {
  operation: string;
  /** Budgeted at one call; false for the paths documented to take more. */
  budgeted: boolean;
  status: number;
  commands: string[];
}

export async function countCalls(): Promise<CallCount[]> {
  const engine = await startEmbeddedEngine(undefined);
  const proxy = await startRecordingProxy(engine.endpoint);
  const api = await startLocalApi({
    settings: readStackSettings("dev"),
    stack: "dev",
    dynamoDbEndpoint: proxy.url,
    accessLog: () => undefined,
  });
  const counts: CallCount[] = [];
  // dev signs users in: one user's token on every request (the runtime's own issuer).
  const user: Record<string, string> =
    api.issuer === undefined ? {} : { Authorization: await api.issuer.token("bench") };
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    proxy.requests.length = 0;
    const response = await fetch(new URL(path, api.url), {
      method,
      headers:
        body === undefined ? { ...user, ...headers } : { "Content-Type": "application/json", ...user, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      commands: proxy.requests.map((sent) => sent.command),
      body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  };
  const count = async (operation: string, budgeted: boolean, ...request: Parameters<typeof send>) => {
    const { status, commands, body } = await send(...request);
    counts.push({ operation, budgeted, status, commands });
    return body;
  };
  try {
    const id = String((await count("create", true, "POST", "items", { name: "bench item", color: "red" })).id);
    for (let index = 0; index < 25; index++) {
      await send("POST", "items", { name: `item ${index}` });
    }
    await count("get", true, "GET", `items/${id}`);
    await count("replace", true, "PUT", `items/${id}`, { name: "replaced" });
    await count("patch", true, "PATCH", `items/${id}`, { color: "blue" });
    const page = await count("list page", true, "GET", "items?limit=10");
    await count("list next page", true, "GET", `items?limit=10&cursor=${String(page.nextCursor)}`);
    await count("delete", true, "DELETE", `items/${id}`);
    // Documented exceptions: a keyed create claims, writes and records; a failed If-Match reads once.
    await count("create, Idempotency-Key", false, "POST", "items", { name: "keyed" }, { "Idempotency-Key": "k1" });
    const other = String((await send("POST", "items", { name: "other" })).body.id);
    await count("replace, If-Match mismatch", false, "PUT", `items/${other}`, { name: "x" }, { "If-Match": '"9"' });
    return counts;
  } finally {
    await api.close();
    await proxy.close();
    await engine.close();
  }
}
