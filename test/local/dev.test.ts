/**
 * `npm run dev` (local/dev.ts): a change under a watched folder restarts the local runtime on the
 * same URL with the same data, and prints the ready line again. The change is a touch (new mtime,
 * same contents) of a real source file.
 */
import { ChildProcess, spawn } from "child_process";
import { mkdtempSync, rmSync, utimesSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { isWatchedSource } from "../../local/dev";
import { client } from "../support/http-client";
import { userHeaders } from "../support/users";
import { PROJECT_ROOT, SWC_REGISTER } from "../support/process";

interface DevProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `pattern` in the output after `from` characters. */
  waitFor: (pattern: RegExp, from?: number) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

function startDev(env: Record<string, string>, args: string[] = []): DevProcess {
  const child = spawn(process.execPath, ["-r", SWC_REGISTER, "local/dev.ts", ...args], {
    cwd: PROJECT_ROOT,
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
  let dev: DevProcess | undefined;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "items-api-dev-"));
  });
  afterEach(async () => {
    if (dev !== undefined && dev.child.exitCode === null) {
      dev.child.kill("SIGKILL");
      await dev.exited;
    }
    dev = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("reloads after a change in a watched file on the same URL, keeping the data", async () => {
    dev = startDev({ PORT: "0", DATA_DIR: dataDir });
    const first = await dev.waitFor(/^apiUrl: (http:\/\/127\.0\.0\.1:\d+\/)$/m);
    const url = first[1] ?? "";
    const api = client(url, await userHeaders("dev", dataDir));
    const created = await api("POST", "items", { json: { name: "survives reloads", status: "kept" } });
    expect(created.status).to.equal(201);

    const before = dev.output().length;
    const touched = join(PROJECT_ROOT, "infra", "routes.ts");
    const now = new Date();
    utimesSync(touched, now, now);
    await dev.waitFor(/^dev: change in infra\/routes\.ts, restarting$/m, before);
    const again = await dev.waitFor(
      /^apiUrl: (\S+)\n(?:.*\n)*?dev: reloaded after change in infra\/routes\.ts \(\d+ ms\)$/m,
      before,
    );
    expect(again[1]).to.equal(url);

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
