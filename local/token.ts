/**
 * `npm run token -- --user NAME [--stack STACK] [--expires-in SECONDS]`: an ID token of the
 * stack's local user pool for NAME, printed as the last line (so `TOKEN=$(npm run -s token --
 * --user alice)` keeps just the token). The key is the local runtime's, in its data folder
 * (DATA_DIR, default .data), made here if `npm start` has not made it yet.
 */
import { resolve } from "path";
import { parseArgs } from "util";
import { localIssuer } from "./issuer";
import { readStackSettings } from "./stack-settings";

const USAGE = `usage: npm run token -- --user NAME [--stack STACK] [--expires-in SECONDS]

Prints an ID token of the local user pool of STACK (default dev) for the user NAME, as the last
line of the output. Send it as it is in the Authorization header to \`npm start\` for that stack.
The same NAME is always the same user (the same sub) on the same stack and data folder (DATA_DIR,
default .data). --expires-in sets its life in seconds (default 3600; 0 or less: already expired).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: "string" },
      stack: { type: "string", default: process.env.STACK ?? "dev" },
      "expires-in": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const user = values.user?.trim() ?? "";
  if (!/^[\w.@+-]{1,128}$/.test(user)) {
    throw new Error(`--user needs a user name of 1 to 128 letters, digits or _.@+-\n\n${USAGE}`);
  }
  const stack = values.stack ?? "dev";
  if (readStackSettings(stack).signIn.mode !== "cognito") {
    throw new Error(`stack ${stack} has no sign-in (signIn is not cognito in Pulumi.${stack}.yaml): it needs no token`);
  }
  const expiresIn = values["expires-in"] === undefined ? undefined : Number(values["expires-in"]);
  if (expiresIn !== undefined && !Number.isInteger(expiresIn)) {
    throw new Error(`--expires-in must be a whole number of seconds, got "${values["expires-in"]}"`);
  }
  const issuer = await localIssuer(stack, resolve(process.env.DATA_DIR ?? ".data"));
  // On stderr: `TOKEN=$(npm run -s token -- --user NAME)` keeps the token alone.
  process.stderr.write(`user: ${user} (sub ${issuer.subOf(user)}) on stack ${stack}\n`);
  process.stdout.write(`${await issuer.token(user, { expiresIn })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
