/**
 * The driver of a model-based run: fast-check's `asyncModelRun` over `fc.commands`, each run on
 * a fresh runtime (in the test process, or `npm start`'s entry as a child process that commands
 * may `kill -9`), with a budget of runs and time. The seed is printed first; a failure prints
 * the shrunk sequence as curl commands (report.ts) and how to replay it.
 */
import { randomUUID } from "crypto";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as fc from "fast-check";
import { HANDLER_VARIABLES } from "../../handlers/env";
import { localIssuer } from "../../local/issuer";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { RunningApi, startApiProcess } from "../support/process";
import { COMMAND_KINDS, CRASH_KINDS, CommandKind, commandArbitraries } from "./commands";
import { USERS } from "./arbitraries";
import { ReferenceModel, STACK_PROFILES, StackProfile } from "./reference";
import { renderFailure } from "./report";
import { ModelTarget, Session, TranscriptEntry } from "./session";

export type Stack = StackProfile["stack"];

/**
 * Per DynamoDB attempt in the test process's runtimes, as the contract suite gives them: the
 * embedded engine shares the test's process and CPU, and the run is not about SDK timeouts.
 */
const IN_PROCESS_DYNAMODB_TIMEOUT_MS = 10000;

/** A runtime in the test process on a fresh in-memory engine (the short run in `npm test`). */
export async function inProcessTarget(stack: Stack, dynamoDbEndpoint?: string): Promise<ModelTarget> {
  const suffix = randomUUID().slice(0, 8);
  const api = await startLocalApi({
    settings: readStackSettings(stack),
    stack,
    dynamoDbEndpoint,
    tableNames: { items: `model-${suffix}-items`, idempotency: `model-${suffix}-idempotency` },
    apiKey: `model-${suffix}-api-key`,
    environment: { [HANDLER_VARIABLES.dynamoDbRequestTimeoutMs]: String(IN_PROCESS_DYNAMODB_TIMEOUT_MS) },
    accessLog: () => undefined,
  });
  return { url: api.url, apiKey: api.apiKey, issuer: api.issuer, close: () => api.close() };
}

/**
 * `npm start -- --stack STACK` as a child process, on a fresh temporary DATA_DIR (dynalite) or
 * fresh tables at `dynamoDbEndpoint`, with a short function timeout so that a claim cut by
 * `kill -9` lapses soon. Its cursor secret and API key stay the same across restarts.
 */
export async function childTarget(
  stack: Stack,
  functionTimeoutMs: number,
  dynamoDbEndpoint?: string,
): Promise<ModelTarget> {
  const suffix = randomUUID().slice(0, 8);
  // The engine's data (dynalite), or only the token issuer's key and the cursor secret.
  const dataDir = mkdtempSync(join(tmpdir(), "items-api-model-"));
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    ...(dynamoDbEndpoint === undefined
      ? {}
      : {
          [HANDLER_VARIABLES.dynamoDbEndpoint]: dynamoDbEndpoint,
          [HANDLER_VARIABLES.tableName]: `model-${suffix}-items`,
          [HANDLER_VARIABLES.idempotencyTableName]: `model-${suffix}-idempotency`,
        }),
    [HANDLER_VARIABLES.cursorSecret]: `model-${suffix}-cursor-secret`,
    API_KEY: `model-${suffix}-api-key`,
    LAMBDA_TIMEOUT_MS: String(functionTimeoutMs),
    HANDLER_LOG_LEVEL: "error",
  };
  const args = ["--stack", stack];
  let running = await startChild(env, args);
  const kill = async () => {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill("SIGKILL");
      await running.exited;
    }
  };
  const issuer = readStackSettings(stack).signIn.mode === "cognito" ? await localIssuer(stack, dataDir) : undefined;
  return {
    url: running.url,
    apiKey: running.apiKey,
    issuer,
    process: {
      kill,
      start: async () => {
        running = await startChild(env, args);
        return running.url;
      },
      functionTimeoutMs,
    },
    close: async () => {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the child; one that a signal from elsewhere ends before it printed anything (seen on a
 * machine shared with other test runs) is started again, once, and said so. Any other failure to
 * start, on the same data after a `kill -9` included, fails the run.
 */
async function startChild(env: Record<string, string>, args: string[]): Promise<RunningApi> {
  try {
    return await startApiProcess(env, args);
  } catch (error) {
    if (!(error instanceof Error) || !/^local runtime exited with null before it was ready:\s*$/.test(error.message)) {
      throw error;
    }
    process.stdout.write(`      (a signal from elsewhere ended the runtime before it was ready; starting it again)\n`);
    return startApiProcess(env, args);
  }
}

export interface ModelRunSettings {
  /** Names the run in its output and in the replay hint. */
  label: string;
  /** The command that runs it again (the replay hint adds its variables and `--grep label`). */
  rerun: string;
  stack: Stack;
  target: () => Promise<ModelTarget>;
  kinds: readonly CommandKind[];
  /** The kinds that send conditional headers. */
  conditionals: readonly CommandKind[];
  seed: number;
  /** fast-check's counterexample path and commands' replayPath, to replay a failure. */
  path?: string;
  replayPath?: string;
  numRuns: number;
  maxCommands: number;
  /** No command runs after this long, or after this many commands. */
  timeLimitMs?: number;
  maxSteps?: number;
  /** Shrinking a failure stops after this long (the last failing sequence is reported). */
  shrinkLimitMs: number;
  log: (line: string) => void;
}

export interface ModelRunFigures {
  runs: number;
  commands: number;
  requests: number;
  /** `kill -9`s of the runtime, and the requests they cut. */
  kills: number;
  cut: number;
  /** Answers by status, to see what the run reached. */
  statuses: Map<number, number>;
  ms: number;
}

/**
 * The commands from the environment: `MODEL_COMMANDS=a,b` runs only those; `MODEL_CONDITIONALS`
 * lists the ones that send conditional headers (default all, `0` none).
 */
export function commandsFromEnvironment(canCrash: boolean): { kinds: CommandKind[]; conditionals: CommandKind[] } {
  const kinds = kindsFromEnvironment("MODEL_COMMANDS", [...COMMAND_KINDS]).filter(
    (kind) => canCrash || !CRASH_KINDS.includes(kind),
  );
  const conditionals = process.env.MODEL_CONDITIONALS === "0" ? [] : kindsFromEnvironment("MODEL_CONDITIONALS", kinds);
  return { kinds, conditionals };
}

/** Command kinds a variable lists (comma-separated), or `all` when it is unset or empty. */
function kindsFromEnvironment(name: string, all: CommandKind[]): CommandKind[] {
  const named = (process.env[name] ?? "")
    .split(",")
    .map((kind) => kind.trim())
    .filter((kind) => kind !== "");
  const unknown = named.filter((kind) => !(COMMAND_KINDS as readonly string[]).includes(kind));
  if (unknown.length > 0) {
    throw new Error(`${name} names unknown commands ${unknown.join(", ")}; known: ${COMMAND_KINDS.join(", ")}`);
  }
  return named.length === 0 ? all : COMMAND_KINDS.filter((kind) => named.includes(kind));
}

/** An integer from the environment, or the fallback. */
export function integerFromEnvironment(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value)) {
    throw new Error(`${name} must be an integer, got "${raw}"`);
  }
  return value;
}

const sameKinds = (a: readonly CommandKind[], b: readonly CommandKind[]): boolean =>
  a.length === b.length && a.every((kind) => b.includes(kind));

function replayPathOf(counterexample: unknown): string | undefined {
  return /replayPath="([^"]*)"/.exec(String(counterexample))?.[1];
}

/**
 * A fresh model of a fresh target, told the run's tokens: for each user an ID token of the
 * stack's pool, and tokens the API must refuse (expired an hour ago, an access token, an ID token
 * of another app client).
 */
async function modelFor(profile: StackProfile, target: ModelTarget): Promise<ReferenceModel> {
  const model = new ReferenceModel(profile, target.apiKey, target.url);
  const issuer = target.issuer;
  if (profile.signIn && issuer !== undefined) {
    const anHourAgo = Math.floor(Date.now() / 1000) - 2 * 3600;
    for (const user of USERS) {
      model.addToken(await issuer.token(user), user, "id");
      model.addToken(await issuer.token(user, { now: anHourAgo }), user, "expired");
      model.addToken(await issuer.token(user, { claims: { token_use: "access" } }), user, "access");
      model.addToken(await issuer.token(user, { claims: { aud: "anotherappclient" } }), user, "other-client");
    }
  }
  return model;
}

/** Runs the model-based property; resolves to its figures, or throws the shrunk failure. */
export async function runModel(settings: ModelRunSettings): Promise<ModelRunFigures> {
  const started = Date.now();
  settings.log(
    `model-based run ${settings.label}: seed ${settings.seed}, up to ${settings.numRuns} runs of up to ${settings.maxCommands} commands (${settings.kinds.join(", ")})`,
  );
  let failedAt: number | undefined;
  const figures = { runs: 0, commands: 0, requests: 0, kills: 0, cut: 0, statuses: new Map<number, number>() };
  let commandsRun = 0;
  const budget = {
    expired: () =>
      failedAt === undefined
        ? (settings.timeLimitMs !== undefined && Date.now() > started + settings.timeLimitMs) ||
          (settings.maxSteps !== undefined && commandsRun >= settings.maxSteps)
        : Date.now() > failedAt + settings.shrinkLimitMs,
    spent: () => {
      commandsRun += 1;
    },
  };
  let lastFailure: { transcript: TranscriptEntry[]; error: unknown; model: ReferenceModel | undefined } | undefined;
  const arbitraries = commandArbitraries({ kinds: settings.kinds, conditionals: settings.conditionals, budget });
  const property = fc.asyncProperty(
    fc.commands(arbitraries, { maxCommands: settings.maxCommands, size: "max", replayPath: settings.replayPath }),
    async (commands) => {
      if (budget.expired()) {
        return;
      }
      const target = await settings.target();
      const session = new Session(target, randomUUID().slice(0, 8));
      let failed = false;
      let model: ReferenceModel | undefined;
      try {
        const fresh = await modelFor(STACK_PROFILES[settings.stack], target);
        model = fresh;
        await fc.asyncModelRun(() => ({ model: fresh, real: session }), commands);
      } catch (error) {
        failed = true;
        if (failedAt === undefined) {
          failedAt = Date.now();
          const first = (error instanceof Error ? error.message : String(error)).split("\n").slice(0, 3).join(" / ");
          settings.log(
            `model-based run ${settings.label}: failure found (${first}); shrinking for up to ${settings.shrinkLimitMs / 1000} s`,
          );
        }
        lastFailure = { transcript: session.transcript, error, model };
        throw error;
      } finally {
        if (!failed && failedAt === undefined) {
          figures.runs += 1;
          figures.commands += session.transcript.filter((entry) => entry.kind === "command").length;
          figures.requests += session.requests;
          figures.kills += session.kills;
          figures.cut += session.cutRequests;
          for (const [status, count] of session.statuses) {
            figures.statuses.set(status, (figures.statuses.get(status) ?? 0) + count);
          }
        }
        await target.close();
      }
    },
  );
  const details = await fc.check(property, { seed: settings.seed, path: settings.path, numRuns: settings.numRuns });
  const ms = Date.now() - started;
  if (!details.failed) {
    const crashes = figures.kills === 0 ? "" : `, ${figures.kills} kill -9 (${figures.cut} requests cut)`;
    settings.log(
      `model-based run ${settings.label}: ${figures.runs} runs, ${figures.commands} commands, ${figures.requests} requests${crashes} in ${(ms / 1000).toFixed(1)} s, every answer as the model predicts`,
    );
    const statuses = [...figures.statuses.entries()].sort(([a], [b]) => a - b);
    settings.log(`  answers by status: ${statuses.map(([status, count]) => `${status} x${count}`).join(", ")}`);
    return { ...figures, ms };
  }
  const bodyDir = join(tmpdir(), `items-api-model-${settings.seed}`);
  const replayPath = replayPathOf(details.counterexample?.[0]);
  const replay =
    `MODEL_SEED=${settings.seed} MODEL_PATH=${details.counterexamplePath ?? ""}${replayPath === undefined ? "" : ` MODEL_REPLAY_PATH='${replayPath}'`}` +
    ` MODEL_COMMANDS=${settings.kinds.join(",")}${sameKinds(settings.conditionals, settings.kinds) ? "" : ` MODEL_CONDITIONALS=${settings.conditionals.join(",") || "0"}`}`;
  const report = [
    `model-based run ${settings.label} FAILED after ${details.numRuns} runs (${details.numShrinks} shrinks), seed ${settings.seed}`,
    `replay: ${replay} ${settings.rerun} --grep '${settings.label}'`,
    "the shrunk sequence, as HTTP requests (>>> marks the step whose answer the model does not allow):",
    lastFailure === undefined
      ? String(details.errorInstance)
      : renderFailure(lastFailure.transcript, lastFailure.error, {
          stack: settings.stack,
          apiKey: lastFailure.model?.apiKey,
          tokens: lastFailure.model?.tokenEntries() ?? [],
          bodyDir,
        }),
  ].join("\n");
  throw new Error(report);
}
