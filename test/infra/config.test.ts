/**
 * Stack configuration as the program sees it: the stack files set only declared keys, a bad
 * value stops the program before any resource with a message naming the key, and a configured
 * `cursorSecret` reaches the functions as a secret and never the code. (parseSettings itself is
 * tested value by value in test/unit/config.test.ts; Pulumi.yaml's declarations against the
 * table in test/local/config-docs.test.ts.)
 */
import { readFileSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../infra/settings";
import {
  CURSOR_SECRET,
  DEV_OPTIONS_RUN,
  PROJECT_ROOT,
  programSnapshot,
  resourcesOfType,
} from "../support/program-snapshot";
import { INVALID_CONFIG, invalidConfigRun, startInfraPrograms } from "./programs";

describe("infra: stack configuration", function () {
  this.timeout(120000);
  // Start every program run of the infra suite at once, when (and only if) it runs.
  before(startInfraPrograms);

  it("sets in the stack files only keys that Pulumi.yaml declares (besides aws:region)", () => {
    const declared = CONFIG_KEYS.map((entry) => `items-api:${entry.key}`);
    for (const stack of ["dev", "prod"]) {
      const file = parse(readFileSync(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
      };
      const unknown = Object.keys(file.config).filter((key) => key !== "aws:region" && !declared.includes(key));
      expect(unknown, stack).to.deep.equal([]);
      expect(file.config["aws:region"], stack).to.be.a("string");
    }
  });

  for (const invalid of INVALID_CONFIG) {
    it(`stops the ${invalid.stack} program before any resource given ${JSON.stringify(invalid.config)}, naming ${invalid.key}`, async () => {
      const snapshot = await programSnapshot(invalidConfigRun(invalid));
      expect(invalid.message.startsWith(`invalid config ${invalid.key}: `)).to.equal(true);
      expect(snapshot.error)
        .to.be.a("string")
        .and.satisfy((error: string) => error.startsWith(invalid.message));
      expect(snapshot.resources.filter((resource) => resource.custom)).to.deep.equal([]);
    });
  }

  it("passes a configured cursorSecret to every function as a secret environment variable, not in the code", async () => {
    const secret = CURSOR_SECRET;
    const snapshot = await programSnapshot(DEV_OPTIONS_RUN);
    expect(snapshot.error).to.equal(undefined);
    const functions = resourcesOfType(snapshot, "aws:lambda/function:Function");
    expect(functions).to.have.length(6);
    for (const fn of functions) {
      expect((fn.inputs.environment as { variables: Record<string, string> }).variables.CURSOR_SECRET).to.equal(secret);
      // Pulumi marks the whole `environment` input secret when any value in it is.
      expect(fn.secretPaths, fn.name).to.deep.equal(["environment"]);
      expect(snapshot.archives[fn.name]?.indexJs, fn.name).to.be.a("string").and.not.include(secret);
    }
  });
});
