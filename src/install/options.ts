/** The `rdma install` command line: pure, so every flag and every mistake is unit-testable. */

export const DEFAULT_CNI_BIN_DIR = "/host/opt/cni/bin";
export const INSTALLED_NAME = "rdma";

export interface InstallOptions {
  cniBinDir: string;
  /** Exit once installed instead of waiting for SIGTERM/SIGINT (an init container, a one-off copy). */
  noSleep: boolean;
}

export type ParsedArgs = { help: true } | { help: false; options: InstallOptions } | { error: string };

export const INSTALL_USAGE = `usage: rdma install [--cni-bin-dir DIR] [--no-sleep]
  copies this executable to DIR/${INSTALLED_NAME} (default ${DEFAULT_CNI_BIN_DIR}) by an atomic rename,
  checks that the copy answers CNI VERSION, logs the node's RDMA netns mode, then waits for
  SIGTERM or SIGINT (exit 0); --no-sleep exits once installed.
`;

export function parseInstallArgs(argv: readonly string[]): ParsedArgs {
  const options: InstallOptions = { cniBinDir: DEFAULT_CNI_BIN_DIR, noSleep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "-h" || arg === "--help") return { help: true };
    if (arg === "--no-sleep") {
      options.noSleep = true;
      continue;
    }
    let value: string | undefined;
    if (arg === "--cni-bin-dir") {
      value = argv[++i];
      if (value === undefined) return { error: "--cni-bin-dir needs a directory" };
    } else if (arg.startsWith("--cni-bin-dir=")) {
      value = arg.slice("--cni-bin-dir=".length);
    } else {
      return { error: `unknown argument ${JSON.stringify(arg)}` };
    }
    if (value === "") return { error: "--cni-bin-dir must not be empty" };
    options.cniBinDir = value;
  }
  return { help: false, options };
}
