/**
 * Loads TypeScript with swc: `node -r ./local/swc-register.cjs file.ts`. `npm start` and the other
 * local commands, `npm run dev`'s restarts and the test processes use it. Each module is
 * transpiled alone as it is required (pirates hooks Node's CommonJS loader, node_modules
 * excluded), with an inline source map for stack traces (Node's own source map support) and
 * coverage. This is what `ts-node --swc` does, with the same swc options (ts-node
 * dist/transpilers/swc.js, createSwcOptions), without loading the TypeScript compiler, which
 * ts-node needs only to read tsconfig.json and which takes most of a process's start here.
 *
 * Never the Pulumi program under mocks (test/support/program-child.ts): the code
 * CallbackFunction serializes must be TypeScript's own emit, as under `pulumi up`.
 */
const { readFileSync } = require("fs");
const { join } = require("path");
const { addHook } = require("pirates");
const { transformSync } = require("@swc/core");

// tsconfig.json is the one place for the target and the module system; it is plain JSON.
const { compilerOptions } = JSON.parse(readFileSync(join(__dirname, "..", "tsconfig.json"), "utf8"));
if (compilerOptions.module.toLowerCase() !== "commonjs") {
  throw new Error(`swc-register emits CommonJS, and tsconfig.json says module ${compilerOptions.module}`);
}

const target = compilerOptions.target.toLowerCase();
// TypeScript's default: define semantics for class fields from ES2022 on (ts-internals, as ts-node).
const useDefineForClassFields =
  compilerOptions.useDefineForClassFields ?? (target === "esnext" || Number(target.slice(2)) >= 2022);

const SWC_OPTIONS = {
  swcrc: false,
  sourceMaps: true,
  // The map points at the .ts file on disk, which stack traces and coverage read; without the
  // source inside, a map is 40 % of the size, and so is what each process parses and writes.
  inlineSourcesContent: false,
  module: { type: "commonjs", noInterop: compilerOptions.esModuleInterop !== true, strictMode: true },
  jsc: {
    parser: { syntax: "typescript", dynamicImport: true },
    target,
    keepClassNames: true,
    transform: { useDefineForClassFields },
  },
};

process.setSourceMapsEnabled(true);

addHook(
  (code, filename) => {
    const output = transformSync(code, { ...SWC_OPTIONS, filename });
    const map = { ...JSON.parse(output.map), file: filename, sources: [filename] };
    delete map.sourceRoot;
    const inline = Buffer.from(JSON.stringify(map), "utf8").toString("base64");
    return `${output.code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${inline}`;
  },
  { exts: [".ts"] },
);
