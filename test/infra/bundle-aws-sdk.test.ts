/**
 * The `bundleAwsSdk` switch (default false; bench/README.md has the figures): with it, every archive
 * ships AWS SDK v3 next to the same `__index.js`; without it (test/infra/archives.test.ts), the
 * archive is `__index.js` alone and the nodejs22.x runtime's SDK is used.
 */
import { expect } from "chai";
import { DEV_OPTIONS_RUN, ProgramSnapshot, programSnapshot, stackSnapshot } from "../support/program-snapshot";
import { serializedFunctions } from "../support/serialized-handlers";

describe("infra: bundleAwsSdk ships AWS SDK v3 in every archive", function () {
  this.timeout(120000);
  let bundled: ProgramSnapshot;
  let runtimeSdk: ProgramSnapshot;

  before(async () => {
    [bundled, runtimeSdk] = await Promise.all([programSnapshot(DEV_OPTIONS_RUN), stackSnapshot("dev")]);
    expect(bundled.error).to.equal(undefined);
  });

  it("adds both SDK packages and their dependencies, never @pulumi/* or a devDependency", () => {
    const functions = Object.values(serializedFunctions(bundled));
    expect(functions).to.have.length(6);
    for (const fn of functions) {
      const archive = bundled.archives[fn.resourceName];
      const paths = archive?.entries.map((entry) => entry.path) ?? [];
      expect(paths, fn.operationId).to.include.members([
        "__index.js",
        "node_modules/@aws-sdk/client-dynamodb",
        "node_modules/@aws-sdk/lib-dynamodb",
        "node_modules/@smithy/core",
      ]);
      expect(
        paths.filter((path) => /^node_modules\/(@pulumi\/|dynalite$|mocha$|typescript$|autocannon$)/.test(path)),
        fn.operationId,
      ).to.deep.equal([]);
      // Megabytes, against a few dozen kilobytes without the switch.
      expect(archive?.unzippedBytes, fn.operationId).to.be.above(5 * 1024 * 1024);
    }
  });

  it("leaves the serialized code itself unchanged", () => {
    const withSdk = serializedFunctions(bundled);
    const withoutSdk = serializedFunctions(runtimeSdk);
    expect(Object.keys(withSdk)).to.deep.equal(Object.keys(withoutSdk));
    for (const [operationId, fn] of Object.entries(withoutSdk)) {
      expect(withSdk[operationId]?.code, operationId).to.equal(fn.code);
    }
  });
});
