/**
 * mocha's global setup: starts every Pulumi program run the suite needs when the mocha run starts,
 * in one child process beside the first tests (the infra suites, which would start them
 * otherwise, come late in the run), and writes each snapshot to a folder the tests read through
 * `programSnapshot`. It returns at once: a test that needs a run waits for its file while the
 * others go on.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { PROGRAM_RUNS } from "../infra/programs";
import {
  PROGRAM_RUNS_DIR_VARIABLE,
  ProgramRequest,
  ProgramSnapshot,
  programRunFile,
  runPrograms,
} from "./program-snapshot";

let dir: string | undefined;

function publish(request: ProgramRequest, outcome: Promise<ProgramSnapshot>): void {
  const file = programRunFile(dir ?? "", request);
  outcome.then(
    (snapshot) => {
      writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
      renameSync(`${file}.tmp`, file);
    },
    (error: unknown) => writeFileSync(`${file}.failed`, error instanceof Error ? error.message : String(error)),
  );
}

export function mochaGlobalSetup(): void {
  dir = mkdtempSync(join(tmpdir(), "items-api-program-runs-"));
  process.env[PROGRAM_RUNS_DIR_VARIABLE] = dir;
  for (const request of PROGRAM_RUNS) {
    writeFileSync(`${programRunFile(dir, request)}.planned`, "");
  }
  const snapshots = runPrograms(PROGRAM_RUNS);
  PROGRAM_RUNS.forEach((request, index) => publish(request, snapshots[index]));
}

export function mochaGlobalTeardown(): void {
  if (dir !== undefined) {
    rmSync(dir, { recursive: true, force: true });
  }
}
