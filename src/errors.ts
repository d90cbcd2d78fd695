/**
 * The error codes the plugin answers with: those of the CNI spec it uses (SPEC.md "Error" section;
 * it never answers 2, 3 or 51, so they are not here) and its own (100+). README.md's table lists
 * exactly these, and test/lint/error-docs.test.ts holds the two together.
 * Every failure the plugin reports is a CniError; the dispatcher prints it as the spec's JSON.
 */
export const ErrorCode = {
  IncompatibleVersion: 1,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  StatusUnavailable: 50,
  // The plugin's own codes; each is documented in README.md ("Error codes").
  RdmaUnavailable: 100,
  NetnsModeNotExclusive: 101,
  DeviceNotFound: 102,
  DeviceBusy: 103,
  NetnsInvalid: 104,
  MoveFailed: 105,
  StateFailure: 106,
  CheckFailed: 107,
  GcIncomplete: 108,
  DeviceNameTaken: 109,
  Internal: 199,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = "",
  ) {
    super(message);
    this.name = "CniError";
  }
}

/** Wraps anything thrown into a CniError, keeping the code of one that already is. */
export function asCniError(err: unknown, fallbackCode: number = ErrorCode.Internal): CniError {
  if (err instanceof CniError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CniError(fallbackCode, message);
}
