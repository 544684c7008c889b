/**
 * Runs `work` with `environment` applied to `process.env`, then restores what was there, as a
 * Lambda container has its environment while its module loads and its factory runs.
 */
export function withEnvironmentSync<T>(environment: Record<string, string>, work: () => T): T {
  const saved = Object.fromEntries(Object.keys(environment).map((key) => [key, process.env[key]]));
  Object.assign(process.env, environment);
  try {
    return work();
  } finally {
    restore(saved);
  }
}

function restore(saved: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) {
      delete process.env[key];
    } else {
      process.env[key] = value;
    }
  }
}
