/**
 * Every npm script runs through this launcher: `node local/script.cjs NAME COMMAND [ARGS...]`.
 * With `--help` anywhere in its arguments (npm appends `npm run NAME -- --help` to the script) it
 * prints NAME's usage from local/scripts.json and exits 0 without running COMMAND; otherwise it
 * runs COMMAND with the arguments, passes signals on, and exits as it does. Plain CommonJS, so
 * that it costs a bare Node start.
 */
const { spawn } = require("child_process");
const SCRIPTS = require("./scripts.json");

/** The usage text of a script, as `--help` prints it. */
function usage(name) {
  const script = SCRIPTS[name];
  if (script === undefined) {
    throw new Error(`no usage for npm script ${name}: add it to local/scripts.json`);
  }
  return [`Usage: ${script.usage}`, "", script.summary, ...(script.details.length > 0 ? ["", ...script.details] : [])]
    .map((line) => `${line}\n`)
    .join("");
}

/**
 * Runs the launcher on `argv` (NAME COMMAND ARGS...). Returns the exit code, or a promise of it.
 * `start` starts the command (child_process.spawn by default; tests pass their own).
 */
function run(argv, write = (text) => process.stdout.write(text), start = spawn) {
  const [name, command, ...args] = argv;
  if (name === undefined || command === undefined) {
    throw new Error("usage: node local/script.cjs NAME COMMAND [ARGS...]");
  }
  if (args.includes("--help")) {
    write(usage(name));
    return 0;
  }
  // `node` is this Node, whichever binary npm runs (the PATH's may differ).
  const child = start(command === "node" ? process.execPath : command, args, { stdio: "inherit" });
  // Ctrl-C reaches the whole process group: the command decides how to stop, and this waits for it.
  const forward = (signal) => () => child.kill(signal);
  const onInt = () => undefined;
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return new Promise((resolve) => {
    child.on("error", (error) => {
      process.stderr.write(`npm run ${name}: cannot run ${command}: ${error.message}\n`);
      resolve(127);
    });
    child.on("exit", (code, signal) => {
      process.removeListener("SIGINT", onInt);
      process.removeListener("SIGTERM", onTerm);
      resolve(code ?? (signal === null ? 1 : 128 + (require("os").constants.signals[signal] ?? 0)));
    });
  });
}

module.exports = { SCRIPTS, usage, run };

if (require.main === module) {
  // A reader that stops early (`| head`) is no failure of the script.
  process.stdout.on("error", (error) => process.exit(error.code === "EPIPE" ? 0 : 1));
  Promise.resolve(run(process.argv.slice(2))).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
