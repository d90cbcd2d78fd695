/**
 * Logs go to stderr (the runtime collects them) and, if configured, to a log file. Never stdout:
 * stdout carries the CNI result or error alone.
 */
import * as fs from "./sys/fs.ts";

export type LogLevel = "error" | "warn" | "info" | "debug";
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export class StreamLogger implements Logger {
  private fileFd: number | undefined;

  constructor(
    private readonly writeStderr: (s: string) => void,
    private level: LogLevel = "warn",
    private readonly context: Record<string, unknown> = {},
  ) {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  /** Appends to `file` from now on; opened with O_NOFOLLOW so a planted symlink is refused. */
  openFile(file: string): void {
    const flags = fs.O_WRONLY | fs.O_APPEND | fs.O_CREAT | fs.O_NOFOLLOW | fs.O_CLOEXEC;
    this.fileFd = fs.openSync(file, flags, 0o600);
  }

  close(): void {
    if (this.fileFd !== undefined) fs.closeSync(this.fileFd);
    this.fileFd = undefined;
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] > RANK[this.level]) return;
    const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...this.context, ...fields })}\n`;
    this.writeStderr(line);
    if (this.fileFd !== undefined) {
      try {
        fs.writeAllSync(this.fileFd, line);
      } catch {
        // A full disk must not fail the CNI call; stderr still has the line.
      }
    }
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.write("error", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write("warn", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write("info", msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write("debug", msg, fields);
  }
}
