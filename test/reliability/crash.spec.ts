/**
 * `kill -9` of the local runtime (the `npm start` entry, as a child process persisting to a
 * temporary DATA_DIR) in the middle of a burst of creates, then a restart on the same DATA_DIR:
 * every item that was acknowledged with 201 is present and intact (deep-equal to the 201 body).
 * Several rounds on the same folder, so that recovery after a kill is itself killed and recovered.
 */
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { ApiResponse, client } from "../support/http-client";
import { RunningApi, startApiProcess } from "../support/process";
import { userHeaders } from "../support/users";
import { canonicalJson } from "../support/reliability-store";

/** Concurrent clients, each creating items back to back. */
const CLIENTS = 16;
/** Each round sends SIGKILL once this many creates were acknowledged; the burst is still running then. */
const KILL_AFTER_ACKNOWLEDGED = [120, 200, 280];
/**
 * Upper bound of a burst should the runtime be far slower than expected. The kill waits for the
 * count above: on a loaded machine the creates are slower, and the round takes longer.
 */
const KILL_AFTER_MS = 60000;

interface Burst {
  sent: number;
  acknowledged: ApiResponse[];
  failed: string[];
  inFlightAtKill: number;
}

/** Creates items from `CLIENTS` concurrent loops until the process is killed. */
async function burstUntilKilled(
  api: RunningApi,
  round: number,
  killAfter: number,
  user: Record<string, string>,
): Promise<Burst> {
  const request = client(api.url, user);
  const burst: Burst = { sent: 0, acknowledged: [], failed: [], inFlightAtKill: 0 };
  let killed = false;
  let inFlight = 0;
  const kill = () => {
    if (!killed) {
      killed = true;
      burst.inFlightAtKill = inFlight;
      api.child.kill("SIGKILL");
    }
  };
  const deadline = setTimeout(kill, KILL_AFTER_MS);

  async function creator(clientIndex: number): Promise<void> {
    for (let sequence = 0; !killed; sequence++) {
      const body = {
        name: `crash ${round}-${clientIndex}-${sequence}`,
        description: "x".repeat(sequence % 7),
        round,
        client: clientIndex,
        sequence,
        data: { nested: { list: [clientIndex, sequence, null, true], text: "é€😀" } },
      };
      burst.sent += 1;
      inFlight += 1;
      let response: ApiResponse;
      try {
        response = await request("POST", "items", { json: body });
      } catch (error) {
        // The connection died with the process: no acknowledgement, nothing promised.
        burst.failed.push(error instanceof Error ? error.message : String(error));
        continue;
      } finally {
        inFlight -= 1;
      }
      if (response.status !== 201) {
        burst.failed.push(`${response.status} ${response.text}`);
        continue;
      }
      burst.acknowledged.push(response);
      if (burst.acknowledged.length >= killAfter) {
        kill();
      }
    }
  }

  await Promise.all(Array.from({ length: CLIENTS }, (_, index) => creator(index)));
  clearTimeout(deadline);
  expect(await api.exited).to.equal(null);
  expect(api.child.signalCode).to.equal("SIGKILL");
  return burst;
}

describe("reliability: kill -9 during a burst of creates", function () {
  // Three bursts of up to KILL_AFTER_MS each, the restarts and the checks.
  this.timeout(4 * KILL_AFTER_MS);
  let dataDir: string;
  const running: RunningApi[] = [];

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), "items-api-crash-"));
  });

  after(() => {
    for (const api of running) {
      if (api.child.exitCode === null && api.child.signalCode === null) {
        api.child.kill("SIGKILL");
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every acknowledged item intact across SIGKILLs and restarts", async () => {
    const acknowledged: ApiResponse[] = [];
    let sent = 0;
    let inFlightAtKills = 0;
    for (const [round, killAfter] of KILL_AFTER_ACKNOWLEDGED.entries()) {
      const api = await startApiProcess({ DATA_DIR: dataDir });
      running.push(api);
      const burst = await burstUntilKilled(api, round, killAfter, await userHeaders("dev", dataDir));
      expect(burst.inFlightAtKill, `round ${round}: the kill must land during the burst`).to.be.greaterThan(0);
      expect(burst.acknowledged.length).to.be.at.least(killAfter);
      acknowledged.push(...burst.acknowledged);
      sent += burst.sent;
      inFlightAtKills += burst.inFlightAtKill;
    }

    const restarted = await startApiProcess({ DATA_DIR: dataDir });
    running.push(restarted);
    const request = client(restarted.url, await userHeaders("dev", dataDir));
    const missing: string[] = [];
    const changed: string[] = [];
    for (const response of acknowledged) {
      const fetched = await request("GET", `items/${response.json.id}`);
      if (fetched.status !== 200) {
        missing.push(`${response.json.id}: ${fetched.status}`);
      } else if (
        canonicalJson(fetched.json) !== canonicalJson(response.json) ||
        fetched.headers.get("etag") !== response.headers.get("etag")
      ) {
        changed.push(`${JSON.stringify(response.json)} -> ${JSON.stringify(fetched.json)}`);
      }
    }
    // Everything stored, acknowledged or not: a create applied just before a kill is allowed.
    let stored = 0;
    let cursor: string | undefined;
    do {
      const page = await request("GET", `items?limit=100${cursor === undefined ? "" : `&cursor=${cursor}`}`);
      expect(page.status, page.text).to.equal(200);
      stored += page.json.items.length;
      cursor = page.json.nextCursor;
    } while (cursor !== undefined);
    const found = acknowledged.length - missing.length - changed.length;
    process.stdout.write(
      `      kill -9 x${KILL_AFTER_ACKNOWLEDGED.length}: ${sent} creates sent, ${acknowledged.length} acknowledged (201), ` +
        `${inFlightAtKills} in flight at the kills; after restart ${found}/${acknowledged.length} acknowledged ` +
        `found intact, ${missing.length} missing, ${changed.length} changed; ${stored} items stored in all\n`,
    );
    restarted.child.kill("SIGTERM");
    expect(await restarted.exited).to.equal(0);

    expect(missing, "acknowledged with 201 but missing after the restart").to.deep.equal([]);
    expect(changed, "acknowledged with 201 but different after the restart").to.deep.equal([]);
    expect(stored).to.be.within(acknowledged.length, sent);
  });
});
