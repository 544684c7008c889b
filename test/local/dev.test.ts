/**
 * `npm run dev` (local/dev.ts): a change under a watched folder restarts the local runtime on the
 * same URL with the same data, serving the new code, and prints the ready line again. The change
 * is an edit of a copy of the project (its watched folders and stack files), never of this one.
 */
import { ChildProcess, spawn } from "child_process";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { WATCHED_DIRS, isWatchedSource } from "../../local/dev";
import { client } from "../support/http-client";
import { userHeaders } from "../support/users";
import { PROJECT_ROOT, SWC_REGISTER } from "../support/process";

/** A copy of what the edit loop watches and runs, beside this project's node_modules. */
function copyProject(): string {
  const root = mkdtempSync(join(tmpdir(), "items-api-dev-project-"));
  for (const dir of WATCHED_DIRS) {
    cpSync(join(PROJECT_ROOT, dir), join(root, dir), { recursive: true });
  }
  for (const file of readdirSync(PROJECT_ROOT).filter((name) => isWatchedSource(name))) {
    copyFileSync(join(PROJECT_ROOT, file), join(root, file));
  }
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
  return root;
}

interface DevProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `pattern` in the output after `from` characters. */
  waitFor: (pattern: RegExp, from?: number) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** This project's local/dev.ts running the edit loop on the project at `root`. */
function startDev(env: Record<string, string>, root: string): DevProcess {
  const run = `require(${JSON.stringify(join(PROJECT_ROOT, "local", "dev.ts"))}).runDevServer([], ${JSON.stringify(root)})`;
  const child = spawn(process.execPath, ["-r", SWC_REGISTER, "-e", run], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    listeners.forEach((listener) => listener());
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = (pattern: RegExp, from = 0) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output.slice(from));
        if (match !== null) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no ${pattern} after 15 s:\n${output}`));
      }, 15000);
      listeners.add(check);
      check();
    });
  return { child, output: () => output, waitFor, exited };
}

describe("npm run dev", function () {
  this.timeout(40000);

  let dataDir: string;
  let project: string;
  let dev: DevProcess | undefined;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "items-api-dev-"));
    project = copyProject();
  });
  afterEach(async () => {
    if (dev !== undefined && dev.child.exitCode === null) {
      dev.child.kill("SIGKILL");
      await dev.exited;
    }
    dev = undefined;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  it("reloads after a change in a watched file on the same URL, serving the new code and keeping the data", async () => {
    dev = startDev({ PORT: "0", DATA_DIR: dataDir }, project);
    const first = await dev.waitFor(/^apiUrl: (http:\/\/127\.0\.0\.1:\d+\/)$/m);
    const url = first[1] ?? "";
    const api = client(url, await userHeaders("dev", dataDir));
    const created = await api("POST", "items", { json: { name: "survives reloads", status: "kept" } });
    expect(created.status).to.equal(201);
    const summary = async () => (await api("GET", "openapi.json")).json.paths["/items"].get.summary;
    expect(await summary()).to.equal("List items");

    const before = dev.output().length;
    const routesFile = join(project, "infra", "routes.ts");
    const source = readFileSync(routesFile, "utf8");
    expect(source).to.contain('summary: "List items",');
    writeFileSync(routesFile, source.replace('summary: "List items",', 'summary: "List the items",'));
    await dev.waitFor(/^dev: change in infra\/routes\.ts, restarting$/m, before);
    const again = await dev.waitFor(
      /^apiUrl: (\S+)\n(?:.*\n)*?dev: reloaded after change in infra\/routes\.ts \(\d+ ms\)$/m,
      before,
    );
    expect(again[1]).to.equal(url);
    expect(await summary()).to.equal("List the items");

    const fetched = await api("GET", `items/${created.json.id}`);
    expect([fetched.status, fetched.json]).to.deep.equal([200, created.json]);

    dev.child.kill("SIGTERM");
    expect(await dev.exited).to.equal(0);
    // The child went with it: nothing answers on the URL any more.
    const refused = await fetch(url).then(
      () => "answered",
      () => "refused",
    );
    expect(refused).to.equal("refused");
  });

  it("restarts only for source files under handlers/, infra/, local/ and for stack files", () => {
    const watched = [
      "handlers/operations.ts",
      "infra/routes.ts",
      "local/types/dynalite.d.ts",
      "Pulumi.dev.yaml",
      "Pulumi.yaml",
    ];
    const ignored = [
      "test/local/dev.test.ts",
      "README.md",
      "handlers/.operations.ts.swp",
      "handlers/operations.ts~",
      "infra/4913",
      "local/.cache/x.ts",
      "openapi.json",
      "package.json",
    ];
    expect(watched.filter((path) => !isWatchedSource(path))).to.deep.equal([]);
    expect(ignored.filter((path) => isWatchedSource(path))).to.deep.equal([]);
  });
});
