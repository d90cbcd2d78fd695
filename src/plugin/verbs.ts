/**
 * The verbs as the dispatcher sees them (as skel's CNIFuncs): a resolved call in, a result or a
 * CniError out. Here each call gets its dependencies, its attachment key and its record store,
 * opened only when the verb asks for it; the dispatcher knows none of them.
 */
import type { AddCall, ResolvedCall } from "../config/call.ts";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log.ts";
import { KernelError } from "../rdma/kernel.ts";
import { type AttachmentKey, type AttachmentRecord, attachmentKey, sameKey, type Store } from "../state/store.ts";
import { add } from "./add.ts";
import { check } from "./check.ts";
import { del } from "./del.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { gc } from "./gc.ts";
import { rdmaUnavailable } from "./kernel-steps.ts";
import { status } from "./status.ts";

/** What a verb has of the dispatcher: its logger, and an ear for the device its attachment holds. */
export interface CallContext {
  log: Logger;
  /** Told whenever the call reads or writes its own attachment's record (the call's line names the device). */
  noteDevice(deviceId: string, rdmaDevice: string): void;
}

export interface CniFuncs {
  /** ADD's result: prevResult handed on, in whichever version it came. */
  add(call: AddCall, ctx: CallContext): Record<string, unknown>;
  del(call: ResolvedCall, ctx: CallContext): void;
  check(call: ResolvedCall, ctx: CallContext): void;
  status(call: ResolvedCall, ctx: CallContext): void;
  gc(call: ResolvedCall, ctx: CallContext): void;
}

/** The plugin's dependencies for one call, given its logger and its RDMA_CNI_* settings. */
type DepsFactory = (log: Logger, settings: Settings) => PluginDeps;

/** The verbs over the dependencies `makeDeps` builds for each call. */
export function pluginFuncs(makeDeps: DepsFactory): CniFuncs {
  const run =
    <C extends ResolvedCall, T>(verb: (call: C, req: Request, deps: PluginDeps) => T) =>
    (call: C, ctx: CallContext): T => {
      try {
        const deps = makeDeps(ctx.log, call.settings);
        const key = attachmentKey(call.conf.name, call.env.containerId, call.env.ifName);
        // Opened (and on a fresh node created) only when a verb is past its own input checks and
        // about to use it: a refused call leaves no state directory behind.
        let store: Store | undefined;
        const openStore = () => (store ??= noteRecordsOf(deps.openStore(call.stateDir), key, ctx));
        return verb(call, { env: call.env, conf: call.conf, key, openStore }, deps);
      } catch (e) {
        // A kernel failure no step wrapped is still about the RDMA subsystem, not an internal error.
        throw e instanceof KernelError ? rdmaUnavailable(e) : e;
      }
    };
  return {
    add: run((call: AddCall, req, deps) => add({ ...req, add: call.add }, deps)),
    del: run((_, req, deps) => del(req, deps)),
    check: run((_, req, deps) => check(req, deps)),
    status: run((_, _req, deps) => status(deps)),
    gc: run((_, req, deps) => gc(req, deps)),
  };
}

/**
 * The call's store, telling `ctx` which device the call's own attachment holds whenever its
 * record is read or written: ADD writes it, DEL and CHECK read it. No extra I/O, and the verbs
 * need not know about the line.
 */
function noteRecordsOf(store: Store, key: AttachmentKey, ctx: CallContext): Store {
  const note = (r: AttachmentRecord | undefined) => {
    if (r && sameKey(r, key)) ctx.noteDevice(r.deviceId, r.rdmaDevice);
    return r;
  };
  return {
    dir: store.dir,
    get: (k) => note(store.get(k)),
    put: (r) => {
      store.put(r);
      note(r);
    },
    remove: (k) => store.remove(k),
    list: () => store.list(),
    lockDevice: (id, ms) => store.lockDevice(id, ms),
    lockAttachment: (k, ms) => store.lockAttachment(k, ms),
  };
}
