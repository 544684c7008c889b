/**
 * Root hooks of the reliability suite: CPU-bound processes run beside it for the whole run, so
 * that "nothing lost" is proven on a machine that is slow, not only on a quiet one. Timeouts
 * then fire, the SDK retries writes that were applied, and requests pile up, as in production
 * under load.
 *
 * RELIABILITY_BUSY_PROCESSES sets how many (default 1; 0 runs on a quiet machine). Each one
 * spins until the suite ends, and in any case stops by itself after BUSY_LIMIT_MS, so a run
 * that dies without its `afterAll` leaves nothing spinning for long.
 */
import { ChildProcess, spawn } from "child_process";

const BUSY_LIMIT_MS = 15 * 60 * 1000;

function busyProcessCount(): number {
  const raw = process.env.RELIABILITY_BUSY_PROCESSES ?? "1";
  const count = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(count) || count > 16) {
    throw new Error(`RELIABILITY_BUSY_PROCESSES must be an integer from 0 to 16, got "${raw}"`);
  }
  return count;
}

const neighbours: ChildProcess[] = [];

function stopAll(): void {
  for (const child of neighbours.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
  }
}

export const mochaHooks = {
  beforeAll(): void {
    const count = busyProcessCount();
    for (let index = 0; index < count; index++) {
      neighbours.push(
        spawn(process.execPath, ["-e", `const end = Date.now() + ${BUSY_LIMIT_MS}; while (Date.now() < end) {}`], {
          stdio: "ignore",
        }),
      );
    }
    process.once("exit", stopAll);
    process.stdout.write(`      ${count} CPU-bound process(es) running beside the suite\n`);
  },
  afterAll(): void {
    stopAll();
  },
};
