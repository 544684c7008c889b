/**
 * `npm run token -- --user NAME [--stack STACK] [--expires-in SECONDS]`: an ID token of the
 * stack's local user pool for NAME, printed as the only line on stdout (so `TOKEN=$(npm run -s
 * token -- --user alice)` keeps just the token; what it is goes to stderr). The key is the local
 * runtime's, in the stack's data folder (localDataDir), made here if `npm start` has not made it
 * yet. Usage: local/scripts.json (`npm run token -- --help`).
 */
import { parseArgs } from "util";
import { localIssuer } from "./issuer";
import { localDataDir, readStackSettings } from "./stack-settings";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: "string" },
      stack: { type: "string", default: process.env.STACK ?? "dev" },
      "expires-in": { type: "string" },
    },
  });
  const user = values.user?.trim() ?? "";
  if (!/^[\w.@+-]{1,128}$/.test(user)) {
    throw new Error("--user needs a user name of 1 to 128 letters, digits or _.@+- (npm run token -- --help)");
  }
  const stack = values.stack ?? "dev";
  if (readStackSettings(stack).signIn.mode !== "cognito") {
    throw new Error(`stack ${stack} has no sign-in (signIn is not cognito in Pulumi.${stack}.yaml): it needs no token`);
  }
  const expiresIn = values["expires-in"] === undefined ? undefined : Number(values["expires-in"]);
  if (expiresIn !== undefined && !Number.isInteger(expiresIn)) {
    throw new Error(`--expires-in must be a whole number of seconds, got "${values["expires-in"]}"`);
  }
  const issuer = await localIssuer(stack, localDataDir(stack));
  process.stderr.write(`user: ${user} (sub ${issuer.subOf(user)}) on stack ${stack}\n`);
  process.stdout.write(`${await issuer.token(user, { expiresIn })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
