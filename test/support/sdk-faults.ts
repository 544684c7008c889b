/**
 * SDK middleware for tests that call operations directly: DynamoDB failures injected into a
 * document client's attempts, and the errors shaped as the SDK reports them.
 */
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import type { Dependencies } from "../../handlers/dependencies";

/** An error shaped as the SDK reports a service failure (server faults carry HTTP 500). */
export function namedError(name: string, message = name): Error {
  const server = name === "InternalServerError";
  return Object.assign(new Error(message), {
    name,
    $fault: server ? "server" : "client",
    $metadata: { httpStatusCode: server ? 500 : 400 },
  });
}

/** A command as middleware sees it: its name (e.g. `PutItemCommand`) and its input. */
export interface SentCommand {
  name: string;
  input: Record<string, unknown>;
}

/**
 * Makes every attempt of the commands `applies` picks (all by default) fail with `makeError`,
 * below the SDK's retries, and counts those attempts.
 */
export function failEveryAttempt(
  deps: Dependencies,
  makeError: () => Error,
  applies: (command: SentCommand) => boolean = () => true,
): { attempts: number } {
  const counter = { attempts: 0 };
  deps.doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (!applies({ name: String(context.commandName), input: args.input as Record<string, unknown> })) {
        return next(args);
      }
      counter.attempts += 1;
      throw makeError();
    },
    { step: "finalizeRequest", name: "injectFault" },
  );
  return counter;
}

/** Counts every attempt of every command, below the SDK's retries, and lets it through. */
export function countAttempts(deps: Dependencies): { attempts: number } {
  const counter = { attempts: 0 };
  deps.doc.middlewareStack.add(
    (next) => async (args) => {
      counter.attempts += 1;
      return next(args);
    },
    { step: "finalizeRequest", name: "countAttempts" },
  );
  return counter;
}

/**
 * Takes the waits out of the SDK's retries and keeps their number: the standard strategy sleeps a
 * random time up to 1 s, then 2 s, after a throttling error (`Retry.throttlingDelay` and
 * `DefaultRetryBackoffStrategy` in @smithy/core's retry module), which a test that counts attempts
 * need not wait out.
 */
export function withoutRetryDelays(deps: Dependencies): void {
  const maxAttempts = deps.doc.config.maxAttempts;
  deps.doc.config.retryStrategy = async () => new ConfiguredRetryStrategy(await maxAttempts(), 0);
}
