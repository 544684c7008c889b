/**
 * What the runners under test/support need to start mocha on a chosen list of spec files in a
 * child process (test:dynamodb-local, test:node22).
 */
import { readFileSync } from "fs";
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
    // A few spec files: one process, and no global setup that starts every program run of the
    // whole suite (a spec that needs one starts its own, test/support/program-snapshot.ts).
    if (key === "spec" || key === "parallel" || key === "jobs") {
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
