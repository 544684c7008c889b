/**
 * The local runtime's data folder: one runtime per folder, refused with a message naming it (a
 * second `npm start` on it used to die later with dynalite's "Database is closed"), a lock left
 * by a killed runtime taken over, and one folder per stack by default.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { expect } from "chai";
import { DATA_LOCK_FILE } from "../../local/engine";
import { startLocalApi } from "../../local/server";
import { localDataDir, readStackSettings } from "../../local/stack-settings";
import { startApiProcess } from "../support/process";

const settings = readStackSettings("dev");
const quiet = { settings, accessLog: () => undefined };

describe("local runtime: data folder", function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "items-api-data-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a second runtime on a folder in use, naming the folder, and takes it once the first stops", async () => {
    const first = await startLocalApi({ ...quiet, dataDir: dir });
    const second = await startLocalApi({ ...quiet, dataDir: dir }).then(
      async (api) => {
        await api.close();
        return "started";
      },
      (error: unknown) => String(error),
    );
    expect(second).to.contain(`the data folder ${dir} is in use by another local runtime`);
    await first.close();
    const third = await startLocalApi({ ...quiet, dataDir: dir });
    await third.close();
  });

  it("stops a second npm start on a folder another process holds, with the message and exit code 1", async () => {
    const holder = await startLocalApi({ ...quiet, dataDir: dir });
    try {
      const started = await startApiProcess({ DATA_DIR: dir }).then(
        (api) => (api.child.kill("SIGKILL"), "started"),
        (error: unknown) => String(error),
      );
      expect(started).to.contain("exited with 1");
      expect(started).to.contain(
        `the data folder ${dir} is in use by another local runtime (npm start, process ${process.pid})`,
      );
    } finally {
      await holder.close();
    }
  });

  it("takes over a lock left by a runtime that no longer runs", async () => {
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(dir, DATA_LOCK_FILE), gone.stdout);
    const api = await startLocalApi({ ...quiet, dataDir: dir });
    await api.close();
  });

  it("keeps each stack's data in a folder of its own unless DATA_DIR names one", () => {
    expect(localDataDir("dev", {})).to.equal(resolve(".data", "dev"));
    expect(localDataDir("prod", {})).to.equal(resolve(".data", "prod"));
    expect(localDataDir("prod", { DATA_DIR: dir })).to.equal(dir);
  });
});
