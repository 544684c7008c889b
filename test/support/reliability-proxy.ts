/**
 * A TCP proxy between the local runtime and its DynamoDB engine, on loopback, that can fail the
 * way a real dependency fails:
 * - `forward`: passes bytes both ways;
 * - `refuse`: nothing listens on the port any more (connection refused);
 * - `blackhole`: accepts connections and never answers;
 * - `throttle`: answers every DynamoDB request with HTTP 400 ThrottlingException, as DynamoDB does.
 * Changing mode cuts every open connection, so pooled keep-alive sockets cannot bypass it.
 *
 * While forwarding it can also hold one answer back (`holdAnswer`): the request reaches DynamoDB
 * and is applied, and its answer never reaches the client, whose attempt then times out and is
 * retried, as when a response is lost in the network.
 */
import { Server, Socket, connect, createServer } from "net";
import { AddressInfo } from "net";

/** How long a mode change waits for clients to notice their connections were cut. */
const SETTLE_MS = 100;

export type ProxyMode = "forward" | "refuse" | "blackhole" | "throttle";

export interface DynamoDbProxy {
  /** `http://127.0.0.1:PORT`, stable across modes. */
  endpoint: string;
  mode(): ProxyMode;
  setMode(mode: ProxyMode): Promise<void>;
  /** DynamoDB operations (X-Amz-Target suffix, e.g. `PutItem`) the throttle mode answered. */
  throttled: string[];
  /** Connections accepted while black-holed. */
  blackholed: number;
  /** What the throttle mode answers: DynamoDB's error type (header and `__type`). */
  throttleWith: { errorType: string; body: string };
  /**
   * Holds back the answer to the next forwarded request that `select` picks. `answered` resolves
   * once DynamoDB has answered it (so the request was applied), with what it answered; `cancel`
   * stops waiting for such a request.
   */
  holdAnswer(select: (request: DynamoDbRequest) => boolean): { answered: Promise<HeldAnswer>; cancel(): void };
  /** Every request forwarded, in order. */
  forwarded: DynamoDbRequest[];
  close(): Promise<void>;
}

/** A DynamoDB request as the proxy saw it: the operation (`UpdateItem`) and its JSON input. */
export interface DynamoDbRequest {
  operation: string;
  input: Record<string, unknown>;
}

export interface HeldAnswer {
  request: DynamoDbRequest;
  /** The status line DynamoDB answered with, e.g. `HTTP/1.1 200 OK`. */
  statusLine: string;
}

/** The error DynamoDB sends when it throttles: HTTP 400, `x-amzn-ErrorType` and `__type`. */
export function dynamoDbError(errorType: string, message: string): { errorType: string; body: string } {
  return { errorType, body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${errorType}`, message }) };
}

function throttlingResponse(errorType: string, body: string): Buffer {
  const bytes = Buffer.from(body, "utf8");
  return Buffer.concat([
    Buffer.from(
      "HTTP/1.1 400 Bad Request\r\n" +
        "Content-Type: application/x-amz-json-1.0\r\n" +
        `x-amzn-ErrorType: ${errorType}\r\n` +
        "x-amzn-RequestId: reliability-proxy\r\n" +
        `Content-Length: ${bytes.length}\r\n` +
        "Connection: keep-alive\r\n\r\n",
      "latin1",
    ),
    bytes,
  ]);
}

/**
 * Reads HTTP/1.1 requests off a socket (Content-Length framed, as the SDK sends them) and hands
 * each complete one, with its raw bytes, to `onRequest`.
 */
function readRequests(socket: Socket, onRequest: (request: DynamoDbRequest, raw: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const headerEnd = buffered.indexOf("\r\n\r\n");
      if (headerEnd === -1) {
        return;
      }
      const head = buffered.subarray(0, headerEnd).toString("latin1");
      const length = Number(/^content-length:\s*(\d+)\s*$/im.exec(head)?.[1] ?? "0");
      if (buffered.length < headerEnd + 4 + length) {
        return;
      }
      const raw = buffered.subarray(0, headerEnd + 4 + length);
      buffered = buffered.subarray(headerEnd + 4 + length);
      const operation = /^x-amz-target:\s*\S+\.(\w+)\s*$/im.exec(head)?.[1] ?? "unknown";
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(raw.subarray(headerEnd + 4).toString("utf8")) as Record<string, unknown>;
      } catch {
        // Not JSON: the request is passed on as it is, with an empty input.
      }
      onRequest({ operation, input }, raw);
    }
  });
}

/** Answers every request on the socket with a throttling error. */
function throttle(socket: Socket, record: (operation: string) => void, errorType: string, body: string): void {
  readRequests(socket, ({ operation }) => {
    record(operation);
    socket.write(throttlingResponse(errorType, body));
  });
}

export async function startDynamoDbProxy(upstream: string): Promise<DynamoDbProxy> {
  const upstreamUrl = new URL(upstream);
  let current: ProxyMode = "forward";
  const sockets = new Set<Socket>();
  const proxy: DynamoDbProxy = {
    endpoint: "",
    mode: () => current,
    setMode: async () => undefined,
    throttled: [],
    blackholed: 0,
    throttleWith: dynamoDbError("ThrottlingException", "Rate exceeded"),
    holdAnswer: () => ({ answered: Promise.reject(new Error("not started")), cancel: () => undefined }),
    forwarded: [],
    close: async () => undefined,
  };
  let pendingHold: { select: (request: DynamoDbRequest) => boolean; resolve: (answer: HeldAnswer) => void } | undefined;
  proxy.holdAnswer = (select) => {
    if (pendingHold !== undefined) {
      throw new Error("an answer is already being held");
    }
    const answered = new Promise<HeldAnswer>((resolve) => {
      pendingHold = { select, resolve };
    });
    return { answered, cancel: () => (pendingHold = undefined) };
  };

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const onConnection = (socket: Socket) => {
    track(socket);
    switch (current) {
      case "forward": {
        const target = connect(Number(upstreamUrl.port), upstreamUrl.hostname);
        track(target);
        // The SDK sends one request at a time per connection: once an answer is held, nothing
        // else is asked on it, and the client closes it when its attempt times out.
        let held: { request: DynamoDbRequest; resolve: (answer: HeldAnswer) => void } | undefined;
        readRequests(socket, (request, raw) => {
          proxy.forwarded.push(request);
          if (pendingHold?.select(request) === true) {
            held = { request, resolve: pendingHold.resolve };
            pendingHold = undefined;
          }
          target.write(raw);
        });
        target.on("data", (chunk: Buffer) => {
          if (held === undefined) {
            socket.write(chunk);
          } else {
            held.resolve({ request: held.request, statusLine: chunk.toString("latin1").split("\r\n")[0] ?? "" });
          }
        });
        socket.on("close", () => target.destroy());
        target.on("close", () => socket.destroy());
        break;
      }
      case "blackhole":
        proxy.blackholed += 1;
        socket.on("data", () => undefined);
        break;
      case "throttle":
        throttle(
          socket,
          (operation) => proxy.throttled.push(operation),
          proxy.throttleWith.errorType,
          proxy.throttleWith.body,
        );
        break;
      case "refuse":
        socket.destroy();
        break;
    }
  };

  /**
   * Closes every open connection and gives the peers a moment to see it: a client that sent its
   * next request into a socket closing under it would fail that attempt with a reset, which the
   * proxy never sees, and the attempt counts would be off by one.
   */
  const cutAll = async () => {
    const closing = [...sockets].map((socket) => new Promise<void>((resolve) => socket.once("close", () => resolve())));
    for (const socket of sockets) {
      socket.destroy();
    }
    await Promise.all(closing);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  };

  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  proxy.endpoint = `http://127.0.0.1:${port}`;

  proxy.setMode = async (mode) => {
    if (mode === current) {
      return;
    }
    const wasListening = current !== "refuse";
    current = mode;
    await cutAll();
    if (mode === "refuse" && wasListening) {
      await stopListening();
    } else if (mode !== "refuse" && !wasListening) {
      server = createServer(onConnection);
      await listen(port);
    }
  };
  proxy.close = async () => {
    await cutAll();
    if (current !== "refuse") {
      await stopListening();
    }
  };
  return proxy;
}
