/**
 * Network namespaces: open a netns path (checked to really be one), and run a function with the
 * calling thread inside another netns, coming straight back. JavaScript runs on one thread, so
 * "the calling thread" is the whole plugin for the duration of the synchronous function.
 */
import * as fs from "../sys/fs.ts";
import * as sys from "../sys/libc.ts";

export interface NetnsHandle {
  readonly fd: number;
  readonly path: string;
}

export class NetnsError extends Error {
  constructor(
    readonly kind: "missing" | "not-netns" | "enter",
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "NetnsError";
  }
}

export interface Netns {
  /**
   * The netns the plugin runs in (where `inside` returns to), open for the life of the process:
   * callers must not close it. Saves an open of /proc on every move back to the host.
   */
  home(): NetnsHandle;
  /** Opens `path` and checks it is a network namespace; throws NetnsError otherwise. */
  open(path: string): NetnsHandle;
  /** Runs `fn` inside `target`, then returns to where the thread was, even if `fn` throws. */
  inside<T>(target: NetnsHandle, fn: () => T): T;
  close(handle: NetnsHandle): void;
}

/** The process's own netns, opened on first use and kept open (close-on-exec). */
let homeHandle: NetnsHandle | undefined;
/** The namespaces `inside` has entered, innermost last; empty while the thread is at home. */
const entered: NetnsHandle[] = [];

export class LinuxNetns implements Netns {
  home(): NetnsHandle {
    homeHandle ??= this.open("/proc/thread-self/ns/net");
    return homeHandle;
  }

  open(path: string): NetnsHandle {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.O_RDONLY | fs.O_CLOEXEC);
    } catch (e) {
      const code = (e as fs.FsError).code;
      if (code === "ENOENT" || code === "ESRCH") throw new NetnsError("missing", path, `netns ${path} does not exist`);
      throw new NetnsError("not-netns", path, `cannot open netns ${path}: ${(e as Error).message}`);
    }
    let type: number;
    try {
      type = sys.namespaceType(fd);
    } catch {
      fs.closeSync(fd);
      throw new NetnsError("not-netns", path, `${path} is not a namespace file`);
    }
    if (type !== sys.CLONE_NEWNET) {
      fs.closeSync(fd);
      throw new NetnsError("not-netns", path, `${path} is a namespace, but not a network namespace`);
    }
    return { fd, path };
  }

  inside<T>(target: NetnsHandle, fn: () => T): T {
    // Where the thread is now: every setns of the plugin goes through here, so it is the
    // innermost namespace entered, or home.
    const back = entered.at(-1) ?? this.home();
    try {
      sys.setns(target.fd, sys.CLONE_NEWNET);
    } catch (e) {
      throw new NetnsError("enter", target.path, `cannot enter netns ${target.path}: ${(e as Error).message}`);
    }
    entered.push(target);
    try {
      return fn();
    } finally {
      entered.pop();
      // Staying in the pod's netns would make every later step act on the wrong namespace.
      sys.setns(back.fd, sys.CLONE_NEWNET);
    }
  }

  close(handle: NetnsHandle): void {
    if (handle === homeHandle) throw new Error("the home netns handle is kept open for the process");
    fs.closeSync(handle.fd);
  }
}
