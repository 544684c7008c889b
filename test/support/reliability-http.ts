/**
 * Raw HTTP for the reliability suite: the contract client's sender (`sendRaw`, Node's own client
 * rather than fetch), so fuzzed requests reach the server unaltered, with each answer's latency.
 */
import { Agent, IncomingHttpHeaders } from "http";
import { RawRequest, jsonOf, sendRaw } from "./http-client";

export type { RawRequest };

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

/** A raw client; `signedIn` header lines (a user's Authorization) go first on every request. */
export function rawClient(baseUrl: string, signedIn: Record<string, string> = {}): RawClient {
  const origin = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    send: async (request) => {
      const started = Date.now();
      const answer = await sendRaw(origin, agent, {
        ...request,
        headers: [...Object.entries(signedIn), ...request.headers],
      });
      return { ...answer, json: jsonOf(answer.text), latencyMs: Date.now() - started };
    },
    close: () => agent.destroy(),
  };
}
