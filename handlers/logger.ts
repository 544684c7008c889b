/**
 * One JSON line per log entry on stdout; Lambda ships it to the function's log group. The lines
 * are in the form Lambda's log-level filtering reads (Lambda Developer Guide, "Log-level
 * filtering", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
 * a JSON object with a `level` key, and a `timestamp` in RFC 3339; without a valid timestamp or
 * level Lambda takes the line as INFO, so `applicationLogLevel` would drop errors or keep debug
 * lines. The level is written as Lambda names it (`DEBUG`, `INFO`, `WARN`, `ERROR`).
 */
import { LOG_LEVELS, LogLevel } from "./env";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Each level's name in a log line, which is Lambda's `applicationLogLevel` name too. */
const LOG_LINE_LEVELS = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARN",
  error: "ERROR",
} as const satisfies Record<LogLevel, string>;

// Exported apart from its declaration, so that createLogger reaches it as a module-local binding
// (see handlers/env.ts): the serializer then copies the table alone, not the module's exports.
export { LOG_LINE_LEVELS };

export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Logger {
  const log =
    (entryLevel: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}): void => {
      if (LOG_LEVELS.indexOf(entryLevel) < LOG_LEVELS.indexOf(level)) {
        return;
      }
      const timestamp = new Date().toISOString();
      const name = LOG_LINE_LEVELS[entryLevel];
      const line: Record<string, unknown> = { timestamp, level: name, message, ...base, ...fields };
      // The keys Lambda reads come first, and a field of the same name cannot replace them.
      line.timestamp = timestamp;
      line.level = name;
      write(JSON.stringify(line));
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** Error details for the log only; clients never see them. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    return { error: String(error) };
  }
  const cause = error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined;
  return { error: { name: error.name, message: error.message, stack: error.stack, cause } };
}
