/**
 * What the runners under test/support need to start mocha on a chosen list of spec files in a
 * child process (test:dynamodb-local, test:node22), pass signals on to it and exit with its code.
 */
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import { readFileSync } from "fs";
import { constants } from "os";
import * as path from "path";

import { PROJECT_ROOT } from "../../local/stack-settings";

export { PROJECT_ROOT };

/**
 * Where the Pulumi program child writes its V8 coverage under `npm test` (test/support/coverage.ts):
 * apart from the processes that run swc's emit, as it runs TypeScript's own.
 */
export const TYPESCRIPT_EMIT_COVERAGE_VARIABLE = "ITEMS_API_TYPESCRIPT_EMIT_COVERAGE";

/** The whole suite's global setup (program-runs.ts), as .mocharc.json requires it. */
const GLOBAL_SETUP = "test/support/program-runs.ts";

/**
 * mocha concatenates a spec given on the command line with the `spec` of .mocharc.json, which
 * would run every test file. So a runner passes `--no-config` and repeats the rc file's other
 * options (require, timeout, exit, ...) as flags.
 */
export function mochaRcFlags(): string[] {
  const rc: unknown = JSON.parse(readFileSync(path.join(PROJECT_ROOT, ".mocharc.json"), "utf8"));
  if (typeof rc !== "object" || rc === null || Array.isArray(rc)) {
    throw new Error(".mocharc.json must hold a JSON object");
  }
  return Object.entries(rc).flatMap(([key, value]: [string, unknown]): string[] => {
    // A few spec files, and no global setup that starts every program run of the whole suite
    // (a spec that needs one starts its own, test/support/program-snapshot.ts).
    if (key === "spec") {
      return [];
    }
    if (Array.isArray(value)) {
      return value.filter((member) => member !== GLOBAL_SETUP).flatMap((member) => [`--${key}`, String(member)]);
    }
    if (typeof value === "boolean") {
      return [value ? `--${key}` : `--no-${key}`];
    }
    return [`--${key}`, String(value)];
  });
}

/**
 * mocha's own bin, to run with a chosen node rather than through `npx mocha`: npx dies on
 * SIGTERM without passing it on, which would orphan mocha.
 */
export function mochaBin(): string {
  return path.join(path.dirname(require.resolve("mocha/package.json")), "bin", "mocha.js");
}

/** The exit code a shell reports for a process that a signal ended. */
export function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** What a runner's body gets from `relayingSignals`. */
export interface SignalRelay {
  /** The first SIGINT or SIGTERM this runner received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** Runs a child with inherited stdio, passing the signals on to it; resolves to its exit code. */
  run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number>;
}

/**
 * Runs a runner's body with SIGINT and SIGTERM caught: a signal is remembered (`received`) and
 * passed on to the child `run` started, and the runner goes on to its own cleanup once the child
 * has exited. Ctrl-C reaches the child through the terminal anyway; a plain `kill` of the runner
 * does not, and `exit` listeners do not run when a signal kills a process.
 */
export async function relayingSignals(body: (relay: SignalRelay) => Promise<number>): Promise<number> {
  let child: ChildProcess | undefined;
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received ??= signal;
    child?.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await body({
      get received() {
        return received;
      },
      async run(command, args, env) {
        child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: "inherit", env: env ?? process.env });
        const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
        return code ?? exitCodeOf(signal ?? "SIGTERM");
      },
    });
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

/** Runs a runner's main function and exits with its code (1, with the error, if it throws). */
export function exitWith(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
