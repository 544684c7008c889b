/**
 * Loads TypeScript through ts-node with swc as its transpiler: the local runtime starts in about
 * half the time TypeScript's own transpiler takes. `npm start` (ts-node --swc), `npm run dev`'s
 * restarts and the test processes use it. Never the Pulumi program under mocks
 * (test/support/program-child.ts): the code CallbackFunction serializes must be TypeScript's
 * emit, as under `pulumi up`.
 */
require("ts-node").register({ swc: true });
