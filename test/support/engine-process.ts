/**
 * The embedded engine (dynalite, in memory) in a process of its own, as DynamoDB is a service
 * of its own: a suite that loads the local runtime hard then does not also starve the engine of
 * its event loop, and the engine's latency is its own.
 */
import { ChildProcess, spawn } from "child_process";
import { PROJECT_ROOT } from "./process";

export interface EngineProcess {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  child: ChildProcess;
  /** Kills the process (it holds nothing worth keeping) and waits for it to exit. */
  stop(): Promise<void>;
}

const ENGINE_SCRIPT = `
const dynalite = require("dynalite");
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, "127.0.0.1", () => process.stdout.write("port " + server.address().port + "\\n"));
`;

export function startEngineProcess(): Promise<EngineProcess> {
  const child = spawn(process.execPath, ["-e", ENGINE_SCRIPT], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
    await exited;
  };
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the engine process did not start within 30 s:\n${output}`));
    }, 30000);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const port = /^port (\d+)$/m.exec(output)?.[1];
      if (port !== undefined) {
        clearTimeout(timer);
        resolve({ endpoint: `http://127.0.0.1:${port}`, child, stop });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the engine process exited before it was ready:\n${output}`));
    });
  });
}
