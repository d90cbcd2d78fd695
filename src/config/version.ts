import { isVersion } from "./chars.ts";

/** CNI spec versions this plugin speaks. Chaining (prevResult) began in 0.3.0. */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const LATEST_VERSION = "1.1.0";

export function isSupported(version: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

export function isWellFormed(version: string): boolean {
  return isVersion(version);
}

/** Compares two well-formed versions: negative, zero or positive. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function atLeast(version: string, min: string): boolean {
  return compareVersions(version, min) >= 0;
}
