/**
 * Network namespaces as names, for in-process tests that need no root: "paths" map to namespace
 * identities, and `inside` switches the fake thread's namespace the way setns would.
 */
import { type Netns, NetnsError, type NetnsHandle } from "../../src/netns/netns.ts";

export const HOST_NS = "host";

export class FakeNetns implements Netns {
  current_ = HOST_NS;
  private readonly paths = new Map<string, string>();
  private readonly fds = new Map<number, string>();
  private nextFd = 1000;
  /** Paths that exist but are not a netns (a regular file, /proc/self/ns/mnt, ...). */
  readonly notNetns = new Set<string>();

  create(path: string, id = path): string {
    this.paths.set(path, id);
    return id;
  }

  /** Deletes the netns behind `path`, as `ip netns del` of its last reference would. */
  destroy(path: string): string | undefined {
    const id = this.paths.get(path);
    this.paths.delete(path);
    return id;
  }

  nsOfFd(fd: number): string {
    const id = this.fds.get(fd);
    if (id === undefined) throw new Error(`fake netns: fd ${fd} is not open`);
    return id;
  }

  /** Open fds, not counting the home handle (kept open for the process, like LinuxNetns's). */
  openFds(): number {
    return this.fds.size - (this.homeHandle ? 1 : 0);
  }

  private homeHandle: NetnsHandle | undefined;
  home(): NetnsHandle {
    if (!this.homeHandle) {
      const fd = this.nextFd++;
      this.fds.set(fd, HOST_NS);
      this.homeHandle = { fd, path: "/proc/thread-self/ns/net" };
    }
    return this.homeHandle;
  }

  open(path: string): NetnsHandle {
    if (this.notNetns.has(path)) throw new NetnsError("not-netns", path, `${path} is not a namespace file`);
    const id = this.paths.get(path);
    if (id === undefined) throw new NetnsError("missing", path, `netns ${path} does not exist`);
    const fd = this.nextFd++;
    this.fds.set(fd, id);
    return { fd, path };
  }

  inside<T>(target: NetnsHandle, fn: () => T): T {
    const home = this.current_;
    this.current_ = this.nsOfFd(target.fd);
    try {
      return fn();
    } finally {
      this.current_ = home;
    }
  }

  close(handle: NetnsHandle): void {
    if (handle === this.homeHandle) throw new Error("fake netns: the home handle must not be closed");
    if (!this.fds.delete(handle.fd)) throw new Error(`fake netns: closing fd ${handle.fd} twice`);
  }
}
