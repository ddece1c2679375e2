/** Exit codes used by every command: 0 ok, 1 failure, 2 usage or configuration. */
export const EXIT = { ok: 0, failure: 1, usage: 2, sighup: 129, sigint: 130, sigterm: 143 } as const;

/**
 * The one error type that reaches a person. `code` is a stable machine-readable name
 * (callers branch on it, never on message text); `exitCode` is what the CLI exits with.
 * Messages must already be redacted (see config/redact.ts).
 */
export class CesarError extends Error {
  readonly code: string;
  readonly exitCode: number;
  /** SQLSTATE of the underlying driver error, when there was one. */
  readonly sqlState: string | undefined;

  constructor(code: string, message: string, options: { exitCode?: number; sqlState?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CesarError';
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.sqlState = options.sqlState;
  }
}

/** A bad flag, argument or configuration value: exit 2. */
export function usageError(code: string, message: string): CesarError {
  return new CesarError(code, message, { exitCode: EXIT.usage });
}

/** True when `err` is a CesarError with this code. */
export function isCesarError(err: unknown, code?: string): err is CesarError {
  return err instanceof CesarError && (code === undefined || err.code === code);
}
