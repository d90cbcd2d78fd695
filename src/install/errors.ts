/** Failures of `rdma install`: each message names the path and the errno, and says what to do. */

export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InstallError";
  }
}

const DESCRIPTIONS: Record<string, string> = {
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  ETXTBSY: "text file busy",
  EEXIST: "file exists",
};

/** "EROFS (read-only file system)" for a Node/Bun fs error, the message for anything else. */
export function describeErrno(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && code !== "") {
    const what = DESCRIPTIONS[code];
    return what ? `${code} (${what})` : code;
  }
  return e instanceof Error ? e.message : String(e);
}

export function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
