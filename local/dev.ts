/**
 * `npm run dev [-- --stack NAME]`: the edit loop. Runs `npm start`'s entry point (local/main.ts)
 * as a child process and restarts it whenever a source file under handlers/, infra/ or local/, or
 * a Pulumi.*.yaml stack file, changes. A restart is a clean SIGTERM (requests in flight finish),
 * then a new child on the same PORT, DATA_DIR and API key: the embedded engine persists to
 * DATA_DIR, so items survive every reload, and clients keep their URL and key.
 *
 * A restarted process, rather than clearing `require.cache`, is what guarantees that handlers,
 * the route table, the OpenAPI document and the docs page all come from the new code.
 * Environment: as for `npm start` (PORT, HOST, DATA_DIR, API_KEY, the DynamoDB endpoint, ...).
 */
import { ChildProcess, spawn } from "child_process";
import { FSWatcher, existsSync, readdirSync, statSync, watch } from "fs";
import { join, relative } from "path";
import { createInterface } from "readline";
import { HANDLER_VARIABLES } from "../handlers/env";
import { PROJECT_ROOT, localDataDir, stackArgument } from "./stack-settings";

export const WATCHED_DIRS = ["handlers", "infra", "local"];
/** Quiet time after the last change before restarting: an editor's save is often several events. */
const SETTLE_MS = 150;
/** A child that ignores SIGTERM this long is killed. */
const STOP_TIMEOUT_MS = 10000;

/** Whether a changed path (relative to the project root) should restart the API. */
export function isWatchedSource(path: string): boolean {
  const parts = path.split(/[\\/]/);
  const file = parts[parts.length - 1] ?? "";
  if (parts.length === 1) {
    return /^Pulumi(\.[\w.-]+)?\.yaml$/.test(file);
  }
  if (!WATCHED_DIRS.includes(parts[0] ?? "") || parts.some((part) => part.startsWith(".") || part === "node_modules")) {
    return false;
  }
  // Source and data files only: editors' swap, backup and temporary files do not count.
  return /\.(ts|js|json|ya?ml)$/.test(file);
}

/** fs.watch on every folder of the watched trees (portable, unlike `recursive` on Node 20). */
function watchSources(root: string, onChange: (path: string) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const watchFolder = (folder: string, recurse: boolean) => {
    if (watchers.has(folder)) {
      return;
    }
    try {
      const watcher = watch(folder, (_event, name) => {
        if (name === null) {
          return;
        }
        const path = join(folder, name.toString());
        if (recurse && existsSync(path) && statSync(path).isDirectory()) {
          watchTree(path); // a new folder
        }
        const changed = relative(root, path);
        if (isWatchedSource(changed)) {
          onChange(changed);
        }
      });
      watcher.on("error", () => {
        watcher.close();
        watchers.delete(folder);
      });
      watchers.set(folder, watcher);
    } catch {
      // The folder vanished between listing and watching: nothing to watch.
    }
  };
  const watchTree = (folder: string) => {
    watchFolder(folder, true);
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith(".") && entry.name !== "node_modules") {
        watchTree(join(folder, entry.name));
      }
    }
  };
  watchFolder(root, false); // Pulumi.*.yaml
  for (const dir of WATCHED_DIRS) {
    watchTree(join(root, dir));
  }
  return () => {
    for (const watcher of watchers.values()) {
      watcher.close();
    }
  };
}

function say(line: string): void {
  process.stdout.write(`dev: ${line}\n`);
}

/** Runs the edit loop on the project at `root` (this one unless a test gives a copy). */
export function runDevServer(args: readonly string[], root: string = PROJECT_ROOT): void {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: process.env.PORT ?? "3000" };
  const endpoint = env[HANDLER_VARIABLES.dynamoDbEndpoint];
  if (endpoint === undefined) {
    // Absolute, so every child opens the same folder: npm start's, one per stack.
    env.DATA_DIR = localDataDir(stackArgument(args), process.env);
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  let restarting = false;
  /** Changes seen since the running child started (or while it restarts). */
  let pending: string[] = [];
  let settle: NodeJS.Timeout | undefined;

  const start = (reason: string | undefined) => {
    const startedAt = Date.now();
    const current = spawn(process.execPath, ["-r", join(__dirname, "swc-register.cjs"), "local/main.ts", ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    child = current;
    exited = new Promise((resolveExit) => {
      current.on("exit", (code, signal) => {
        if (child === current) {
          child = undefined;
          if (!stopping && !restarting) {
            say(`the API stopped (${signal ?? `exit code ${code}`}); it starts again on the next change`);
          }
        }
        resolveExit();
      });
    });
    if (current.stdout === null) {
      throw new Error("the child's stdout is not piped");
    }
    createInterface({ input: current.stdout }).on("line", (line) => {
      process.stdout.write(`${line}\n`);
      const apiKey = /^apiKey: (\S+)$/.exec(line)?.[1];
      if (apiKey !== undefined) {
        env.API_KEY = apiKey; // the same key after every reload
      }
      const port = /^apiUrl: http:\/\/.+:(\d+)\/$/.exec(line)?.[1];
      if (port !== undefined) {
        env.PORT = port; // PORT=0 picked one: keep it
        if (reason !== undefined) {
          say(`reloaded after change in ${reason} (${Date.now() - startedAt} ms)`);
        }
      }
    });
  };

  const stopChild = async () => {
    const current = child;
    if (current !== undefined) {
      current.kill("SIGTERM");
      const timer = setTimeout(() => current.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  };

  const restart = async () => {
    if (restarting || stopping || pending.length === 0) {
      return;
    }
    restarting = true;
    const changed = [...new Set(pending)];
    pending = [];
    const reason =
      changed.length <= 3 ? changed.join(", ") : `${changed.slice(0, 2).join(", ")} and ${changed.length - 2} more`;
    say(`change in ${reason}, restarting`);
    await stopChild();
    restarting = false;
    if (!stopping) {
      start(reason);
      if (pending.length > 0) {
        // Saved again during the restart: the new child may have read the older file.
        await restart();
      }
    }
  };

  const unwatch = watchSources(root, (path) => {
    pending.push(path);
    clearTimeout(settle);
    settle = setTimeout(() => void restart(), SETTLE_MS);
  });

  const shutdown = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    clearTimeout(settle);
    unwatch();
    say(`${signal}: stopping`);
    void stopChild().then(() => process.exit(0));
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));

  say(
    `watching ${WATCHED_DIRS.map((dir) => `${dir}/`).join(", ")} and Pulumi.*.yaml; data in ${env.DATA_DIR ?? endpoint}`,
  );
  start(undefined);
}

if (require.main === module) {
  runDevServer(process.argv.slice(2));
}
