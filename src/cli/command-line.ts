/** A command line the script cannot make sense of: exit code 2, as Unix tools do. */
export class UsageError extends Error {}

/** node:util's parseArgs, its TypeError for an unknown option turned into a UsageError. */
export function parseCommandLine<T>(parse: () => T, usage = ''): T {
  try {
    return parse();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(usage ? `${message}\n${usage}` : message);
  }
}
