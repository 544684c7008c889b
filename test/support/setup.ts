/**
 * Loaded by mocha before any test: the SDK talks only to local engines during tests, so give it
 * a region and dummy credentials, and silence its Node-version notice.
 */
process.env.AWS_REGION ??= "us-east-1";
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// V8 writes a process's coverage (NODE_V8_COVERAGE) as the process exits, which takes more than a
// second for a mocha worker that loaded the SDK and TypeScript; mocha's worker pool (workerpool,
// WorkerHandler.terminate) sends SIGTERM to a worker still exiting after 1 s, and the default
// action would end it without its coverage. A handler of our own lets the exit finish.
if (process.env.NODE_V8_COVERAGE !== undefined) {
  process.on("SIGTERM", () => process.exit(143));
}
