/**
 * What owner sessions cost (issue: least privilege down to the row). The local runtime serves the
 * dev stack (sign-in) with a data access role set, its STS calls going to a stand-in on loopback
 * and its DynamoDB calls through a recording proxy. Each of `users` users sends two requests: the
 * first, a new user's, starts a session (one AssumeRole); the second, a returning user's warm
 * request, uses the cached one. Counts come from the wire; times are what the client saw.
 */
import { performance } from "perf_hooks";
import { HANDLER_VARIABLES } from "../handlers/env";
import { startEmbeddedEngine } from "../local/engine";
import { startLocalApi } from "../local/server";
import { readStackSettings } from "../local/stack-settings";
import { startFakeSts } from "../test/support/fake-sts";
import { startRecordingProxy } from "./calls";

export interface SessionCost {
  request: string;
  requests: number;
  /** Per request: STS and DynamoDB calls (the same for every request of its kind, or -1). */
  stsCalls: number;
  dynamoDbCalls: number;
  p50Ms: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export async function measureSessions(users: number): Promise<SessionCost[]> {
  const engine = await startEmbeddedEngine(undefined);
  const proxy = await startRecordingProxy(engine.endpoint);
  const sts = await startFakeSts(60 * 60 * 1000);
  const previous = process.env.AWS_ENDPOINT_URL_STS;
  process.env.AWS_ENDPOINT_URL_STS = sts.endpoint;
  const api = await startLocalApi({
    settings: readStackSettings("dev"),
    stack: "dev",
    dynamoDbEndpoint: proxy.url,
    environment: { [HANDLER_VARIABLES.dataAccessRoleArn]: "arn:aws:iam::000000000000:role/bench-data" },
    accessLog: () => undefined,
  });
  const samples: Record<string, { sts: number[]; dynamoDb: number[]; ms: number[] }> = {};
  const record = (kind: string, sts: number, dynamoDb: number, ms: number) => {
    const entry = (samples[kind] ??= { sts: [], dynamoDb: [], ms: [] });
    entry.sts.push(sts);
    entry.dynamoDb.push(dynamoDb);
    entry.ms.push(ms);
  };
  try {
    if (api.issuer === undefined) {
      throw new Error("the dev stack signs users in; its local runtime has no issuer");
    }
    for (let user = 0; user < users; user++) {
      const token = await api.issuer.token(`bench-user-${user}`);
      for (const kind of [
        user === 0 ? "first user of a container (loads the STS client)" : "new user",
        "returning user",
      ]) {
        const stsBefore = sts.requests.length;
        const dynamoDbBefore = proxy.requests.length;
        const started = performance.now();
        const response = await fetch(new URL("items?limit=1", api.url), { headers: { Authorization: token } });
        await response.text();
        if (response.status !== 200) {
          throw new Error(`GET /items answered ${response.status}`);
        }
        record(
          kind,
          sts.requests.length - stsBefore,
          proxy.requests.length - dynamoDbBefore,
          performance.now() - started,
        );
      }
    }
    return Object.entries(samples).map(([request, entry]) => ({
      request,
      requests: entry.ms.length,
      stsCalls: entry.sts.every((count) => count === entry.sts[0]) ? (entry.sts[0] ?? 0) : -1,
      dynamoDbCalls: entry.dynamoDb.every((count) => count === entry.dynamoDb[0]) ? (entry.dynamoDb[0] ?? 0) : -1,
      p50Ms: median(entry.ms),
    }));
  } finally {
    await api.close();
    await sts.close();
    await proxy.close();
    await engine.close();
    if (previous === undefined) {
      delete process.env.AWS_ENDPOINT_URL_STS;
    } else {
      process.env.AWS_ENDPOINT_URL_STS = previous;
    }
  }
}
