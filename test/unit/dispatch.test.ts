/** The dispatcher over verbs it knows only as CniFuncs: which verb runs, what is printed, what the line says. */
import { expect, test } from "bun:test";
import { type CniIo, runCni } from "../../src/cni/dispatch.ts";
import { CniError } from "../../src/errors.ts";
import type { CniFuncs } from "../../src/plugin/verbs.ts";

const CONF = { cniVersion: "1.0.0", name: "sriov-network", type: "rdma", prevResult: { cniVersion: "1.0.0", interfaces: [] } };

function run(command: string, funcs: CniFuncs, conf: Record<string, unknown> = CONF) {
  let stdout = "";
  let stderr = "";
  const bytes = new TextEncoder().encode(JSON.stringify({ ...conf, logLevel: "info" }));
  const lines: Record<string, unknown>[] = [];
  const io: CniIo = {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: "c1", CNI_NETNS: "/var/run/netns/pod1", CNI_IFNAME: "net1" },
    readStdin: (max) => bytes.subarray(0, max + 1),
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    report: (f) => lines.push({ ...f }),
  };
  const code = runCni(io, funcs);
  return { code, stdout, stderr, facts: lines[0] };
}

/** Verbs that record which of them ran; ADD answers with `addResult`. */
function stubFuncs(ran: string[], addResult: Record<string, unknown> = {}): CniFuncs {
  return {
    add: (call, ctx) => {
      ran.push(`ADD ${call.add.device?.source ?? "no device"}`);
      ctx.noteDevice("0000:03:00.5", "mlx5_3");
      return addResult;
    },
    del: () => void ran.push("DEL"),
    check: () => void ran.push("CHECK"),
    status: () => void ran.push("STATUS"),
    gc: () => void ran.push("GC"),
  };
}

test("each verb goes to its function, once", () => {
  for (const verb of ["ADD", "DEL", "CHECK"]) {
    const ran: string[] = [];
    expect(run(verb, stubFuncs(ran)).code).toBe(0);
    expect(ran).toEqual([verb === "ADD" ? "ADD no device" : verb]);
  }
  for (const verb of ["STATUS", "GC"]) {
    const ran: string[] = [];
    expect(run(verb, stubFuncs(ran), { ...CONF, cniVersion: "1.1.0" }).code).toBe(0);
    expect(ran).toEqual([verb]);
  }
});

test("ADD's result is printed in the config's version; the device a verb notes goes into the call's line", () => {
  const r = run("ADD", stubFuncs([], { cniVersion: "1.1.0", interfaces: [] }));
  expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.0.0", interfaces: [] });
  expect(r.facts).toMatchObject({ verb: "ADD", containerId: "c1", deviceId: "0000:03:00.5", rdmaDevice: "mlx5_3", code: 0 });
});

test("a verb's CniError is the reply, in the config's version; nothing runs for a refused call", () => {
  const failing: CniFuncs = {
    ...stubFuncs([]),
    del: () => {
      throw new CniError(105, "cannot move");
    },
  };
  const r = run("DEL", failing, { ...CONF, cniVersion: "0.4.0", prevResult: undefined });
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "0.4.0", code: 105, msg: "cannot move" });
  expect(r.facts).toMatchObject({ verb: "DEL", code: 105, error: "cannot move" });

  const ran: string[] = [];
  const refused = run("CHECK", stubFuncs(ran), { ...CONF, cniVersion: "0.3.1", prevResult: undefined });
  expect(JSON.parse(refused.stdout)).toMatchObject({ cniVersion: "0.3.1", code: 1, msg: "config version 0.3.1 does not allow CHECK (it needs 0.4.0 or later)" });
  expect(ran).toEqual([]);
});
