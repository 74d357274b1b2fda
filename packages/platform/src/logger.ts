/**
 * The logging surface the platform needs. A pino `Logger` satisfies it, so services pass their own
 * (child) logger; the platform never creates a global one.
 */
export interface PlatformLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** For tests and tools that do not care about logs. */
export const silentLogger: PlatformLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Error details that are safe to log: message and name, never the whole object (it may carry payloads). */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'NonError', message: String(error) };
}
