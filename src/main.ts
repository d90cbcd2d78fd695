/** Entry point: wiring only. With no arguments the executable is the CNI plugin. */
import * as fs from "./sys/fs.ts";
import { versionLine } from "./buildinfo.ts";
import { type CniIo, runCni } from "./cni/dispatch.ts";
import { KILL_POINTS, testHooksEnabled } from "./plugin/killpoints.ts";
import { productionFuncs } from "./wiring.ts";

function readStdin(max: number): Uint8Array {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf);
    } catch (e) {
      const code = (e as fs.FsError).code;
      if (code === "EAGAIN") {
        Bun.sleepSync(1);
        continue;
      }
      if (code === "EOF" || code === "EBADF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
    if (total > max) break;
  }
  return Buffer.concat(chunks);
}

const write = (fd: number) => (s: string) => fs.writeAllSync(fd, s);

function runPlugin(): number {
  const io: CniIo = { env: process.env, readStdin, stdout: write(1), stderr: write(2) };
  return runCni(io, productionFuncs());
}

/** Subcommands of the same executable; each module is loaded only when asked for. */
const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  "--version": async () => {
    write(1)(`${versionLine()}\n`);
    return 0;
  },
  install: async (argv) => (await import("./install/install.ts")).main(argv),
  doctor: async (argv) => (await import("./doctor/doctor.ts")).main(argv),
  engine: async (argv) => (await import("./engine/main.ts")).main(argv),
};

if (testHooksEnabled) {
  // Test builds only: list the kill points, for the crash tests to walk through.
  SUBCOMMANDS["--kill-points"] = async () => {
    write(1)(`${KILL_POINTS.join("\n")}\n`);
    return 0;
  };
}

const USAGE = `usage:
  rdma                 the CNI plugin (CNI_COMMAND and the network config on stdin)
  rdma --version       print version, commit and build date
  rdma --help, -h      print this
  rdma install         install the shim as rdma and this executable as rdma-engine (without a
                       shim: as rdma) into the CNI bin dir, each checked before it is renamed into
                       place; log the node's netns mode and doctor summary; then wait, or exit
                       with --no-sleep (rdma install --help)
  rdma doctor          report the node's RDMA devices, attachments and problems (rdma doctor --help)
  rdma engine          serve CNI calls forwarded by the shim on a unix socket (rdma engine --help)
`;

const printUsage = async () => {
  write(1)(USAGE);
  return 0;
};
SUBCOMMANDS["--help"] = printUsage;
SUBCOMMANDS["-h"] = printUsage;

async function main(argv: string[]): Promise<number> {
  const [arg, ...rest] = argv;
  if (arg === undefined) return runPlugin();
  const sub = SUBCOMMANDS[arg];
  if (sub) return sub(rest);
  write(2)(`rdma: unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  return 2;
}

// No top-level await: `bun build --bytecode` (Makefile BUN_BUILD_FLAGS) needs a CommonJS-shaped entry point.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
