/**
 * The real side of a model-based run: the runtime under test, the requests sent to it over HTTP
 * (support/http-client.ts), a transcript of every exchange for the failure report, and `kill -9`
 * and restart of a runtime that runs as a child process.
 */
import type { LocalIssuer } from "../../local/issuer";
import { Request, client } from "../support/http-client";
import { ModelRequest, Observed, ReferenceModel } from "./reference";
import { targetOf } from "./requests";

/** A runtime the model-based run talks to. */
export interface ModelTarget {
  /** Base URL ending with `/`. */
  url: string;
  apiKey: string | undefined;
  /** The stack's local token issuer, where users sign in. */
  issuer: LocalIssuer | undefined;
  /** Present where the runtime is a child process (`npm start`'s entry) the run may kill. */
  process?: {
    /** SIGKILL; resolves once it has exited. */
    kill(): Promise<void>;
    /** Starts it again on the same data; resolves to its new base URL. */
    start(): Promise<string>;
    /** The function timeout it runs with: an Idempotency-Key claim's lock lasts at most this long. */
    functionTimeoutMs: number;
  };
  close(): Promise<void>;
}

export type TranscriptEntry =
  | { kind: "command"; text: string }
  | { kind: "event"; text: string }
  | { kind: "request"; step: number; url: string; request: ModelRequest; observed?: Observed; cut?: boolean };

export interface Verdict {
  expected: string;
  problems: string[];
}

/** The API answered what no outcome of the model allows. */
export class ModelMismatch extends Error {
  constructor(
    readonly step: number,
    readonly verdicts: Verdict[],
  ) {
    super(
      `step ${step}: the answer differs from the model's prediction:\n${verdicts.map((verdict) => `  expected ${verdict.expected}:\n${verdict.problems.map((problem) => `    - ${problem}`).join("\n")}`).join("\n")}`,
    );
  }
}

/** Waits this long past a cut claim's lock before the run goes on. */
const LOCK_MARGIN_MS = 300;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class Session {
  readonly transcript: TranscriptEntry[] = [];
  private steps = 0;
  private send$: Request;
  private killed = false;
  /** `kill -9`s of the runtime, and requests they cut. */
  kills = 0;
  cutRequests = 0;
  /** How many answers of each status. */
  readonly statuses = new Map<number, number>();

  constructor(
    private readonly target: ModelTarget,
    /** Unique per run: names and keys of one run never meet another's. */
    readonly runTag: string,
  ) {
    this.send$ = client(target.url);
  }

  get requests(): number {
    return this.steps;
  }

  beginCommand(text: string): void {
    this.transcript.push({ kind: "command", text });
  }

  lastStep(): number {
    return this.steps;
  }

  /** Sends the request; resolves to its step number and the answer. */
  async send(sent: ModelRequest): Promise<{ step: number; observed: Observed }> {
    const answer = await this.sendOrCut(sent);
    if (answer.cut) {
      throw new Error(`step ${answer.step}: the connection failed: ${answer.error}`);
    }
    return answer;
  }

  /** As `send`, but a request that a `kill -9` of the runtime cut is reported, not thrown. */
  async sendOrCut(
    sent: ModelRequest,
  ): Promise<{ cut: false; step: number; observed: Observed } | { cut: true; step: number; error: string }> {
    const step = (this.steps += 1);
    const entry: Extract<TranscriptEntry, { kind: "request" }> = {
      kind: "request",
      step,
      url: this.target.url,
      request: sent,
    };
    this.transcript.push(entry);
    const sentAt = Date.now();
    try {
      const response = await this.send$(sent.method, targetOf(sent), { raw: sent.body, headerLines: sent.headers });
      entry.observed = { ...response, sentAt, receivedAt: Date.now() };
      this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
      return { cut: false, step, observed: entry.observed };
    } catch (error) {
      if (!this.killed) {
        throw error;
      }
      entry.cut = true;
      this.cutRequests += 1;
      return { cut: true, step, error: error instanceof Error ? error.message : String(error) };
    }
  }

  fail(step: number, verdicts: Verdict[]): never {
    throw new ModelMismatch(step, verdicts);
  }

  /** Starts a `kill -9`: `kill()` sends it, `done` resolves to when the runtime was gone (test clock). */
  beginCrash(): { kill(): Promise<void>; done: Promise<number> } {
    const process = this.processOf();
    let resolveDone: (at: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => (resolveDone = resolve));
    return {
      kill: async () => {
        this.killed = true;
        await process.kill();
        resolveDone(Date.now());
      },
      done,
    };
  }

  /**
   * Starts the runtime again on the same data (after a `kill -9`; with none pending, kills it
   * first), then waits until the locks of the claims that `cutSteps` may have left have lapsed.
   */
  async restart(model: ReferenceModel, cutSteps: number[], killedAt: number[]): Promise<void> {
    const process = this.processOf();
    if (killedAt.length === 0) {
      this.killed = true;
      await process.kill();
    }
    this.kills += 1;
    const url = await process.start();
    this.killed = false;
    this.target.url = url;
    model.baseUrl = url;
    // A new agent: the old one's kept-alive sockets died with the process.
    this.send$ = client(url);
    const lapse = Math.max(0, ...killedAt.map((at) => at + process.functionTimeoutMs + LOCK_MARGIN_MS - Date.now()));
    this.transcript.push({
      kind: "event",
      text:
        `kill -9 the runtime${cutSteps.length === 0 ? " (nothing in flight)" : `; requests ${cutSteps.join(", ")} were cut`}, ` +
        `start it again on the same data (now ${url})${lapse > 0 ? `, wait ${lapse} ms for the cut claims' locks to lapse` : ""}`,
    });
    await delay(lapse);
  }

  private processOf(): NonNullable<ModelTarget["process"]> {
    if (this.target.process === undefined) {
      throw new Error("this target cannot be killed and restarted");
    }
    return this.target.process;
  }
}
