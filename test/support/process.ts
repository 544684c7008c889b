/** Runs `npm start`'s entry point as a child process, the way a user does. */
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import { join } from "path";

import { PROJECT_ROOT } from "../../local/stack-settings";

export { PROJECT_ROOT };
/** `-r` this to run TypeScript with swc, as `npm start` does. */
export const SWC_REGISTER = join(PROJECT_ROOT, "local", "swc-register.cjs");

export interface RunningApi {
  child: ChildProcess;
  url: string;
  apiKey: string | undefined;
  /** Milliseconds from spawn to the ready line. */
  readyMs: number;
  output: () => string;
  /** Resolves once the output (stdout and stderr) matches `pattern`; rejects if the process exits first. */
  waitForOutput: (pattern: RegExp) => Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Runtimes started here that have not exited. A test that fails before it stops its runtime
 * would otherwise leave it running past the test run: a child outlives its parent.
 */
const live = new Set<ChildProcess>();
process.on("exit", () => live.forEach((child) => child.kill("SIGKILL")));

/** Kills the runtimes a test left running (a failed assertion skips its own stop). */
export async function killLeftoverApiProcesses(): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }),
  );
}

export function startApiProcess(env: Record<string, string>, args: string[] = []): Promise<RunningApi> {
  const started = Date.now();
  const child = spawn(process.execPath, ["-r", SWC_REGISTER, "local/main.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let output = "";
  const outputListeners = new Set<() => void>();
  const waitForOutput = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(output)) {
          outputListeners.delete(check);
          resolve();
        } else if (child.exitCode !== null) {
          outputListeners.delete(check);
          reject(new Error(`the local runtime exited without printing ${pattern}:\n${output}`));
        }
      };
      outputListeners.add(check);
      check();
    });
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      live.delete(child);
      resolve(code);
      outputListeners.forEach((listener) => listener());
    }),
  );
  return new Promise((resolve, reject) => {
    // A runtime not ready after 30 s is killed; once ready, it runs as long as its test needs.
    const notReady = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`local runtime not ready after 30 s:\n${output}`));
    }, 30000);
    notReady.unref();
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const ready = /^apiUrl: (http:\/\/\S+\/)$/m.exec(output);
      if (ready?.[1] !== undefined) {
        clearTimeout(notReady);
        const apiKey = /^apiKey: (\S+)$/m.exec(output)?.[1];
        resolve({
          child,
          url: ready[1],
          apiKey,
          readyMs: Date.now() - started,
          output: () => output,
          waitForOutput,
          exited,
        });
      }
      outputListeners.forEach((listener) => listener());
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      outputListeners.forEach((listener) => listener());
    });
    void exited.then((code) => {
      clearTimeout(notReady);
      reject(new Error(`local runtime exited with ${code} before it was ready:\n${output}`));
    });
  });
}
