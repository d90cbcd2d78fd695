/** The report as people read it (aligned tables) and as tools read it (JSON). */
import type { Finding } from "./findings.ts";
import type { DeviceEntry, Report } from "./report.ts";

/** Container IDs are 64 hex digits in Kubernetes; tables show the first 12, as crictl does. */
const shortId = (id: string) => (id.length > 12 ? id.slice(0, 12) : id);

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ["  (none)"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function parent(d: DeviceEntry): string {
  if (d.parent.name === null) return "?";
  return d.parent.bus === "unknown" ? d.parent.name : `${d.parent.bus === "pci" ? "pci" : "aux"} ${d.parent.name}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function renderFinding(f: Finding): string[] {
  const out = [`  ${f.severity.padEnd(8)}${f.id}  ${f.subject}`, `          ${f.message}`];
  if (f.fix) out.push(`          fix: ${f.fix}`);
  return out;
}

export function renderText(report: Report): string {
  const r = report;
  const rdma = r.rdma.present
    ? `present, netns mode ${r.rdma.netnsMode ?? `unknown (${r.rdma.error ?? "?"})`}`
    : `ABSENT (${r.rdma.error ?? "no answer"})`;
  const out: string[] = [
    `rdma doctor (plugin ${r.plugin.version}, commit ${r.plugin.commit}) at ${r.generatedAt}`,
    `kernel     ${r.kernel.release ?? "unknown"}`,
    `RDMA       ${rdma}`,
    `sysfs      ${r.sysfsRoot}`,
    `state dir  ${r.stateDir}: ${plural(r.attachments.length, "record")}, ${r.unreadableRecords.length} unreadable, ${plural(r.locks.length, "lock file")}`,
    `Go state   ${r.goStateDir}: ${plural(r.goRecords.length, "record")}, ${r.unreadableGoRecords.length} unreadable`,
    "",
    "RDMA devices",
    ...table(
      ["DEVICE", "INDEX", "STATE", "PARENT", "NETDEV", "NETNS", "CONTAINER", "IFNAME"],
      r.devices.map((d) => [
        d.name,
        String(d.index),
        d.state,
        parent(d),
        d.netdevs.join(",") || "-",
        d.seenIn ?? d.attachment?.netns ?? "?",
        d.attachment ? shortId(d.attachment.containerId) : "-",
        d.attachment?.ifName ?? "-",
      ]),
    ),
    "",
    "Records",
    ...table(
      ["CONTAINER", "NETWORK", "IFNAME", "DEVICE", "DEVICE ID", "PHASE", "CHECK", "NETNS"],
      r.attachments.map((a) => [shortId(a.containerId), a.network, a.ifName, a.seenAs ?? a.rdmaDevice, a.deviceId, a.phase, a.check, a.netns]),
    ),
    "",
    "Go rdma-cni records",
    ...table(
      ["DEVICE ID", "HOST NAME", "POD NAME", "ON HOST", "OURS TOO", "NAME (network-container-ifname)"],
      r.goRecords.map((g) => [g.deviceId, g.rdmaDevice, g.podRdmaDevice, g.onHostAs ?? "no", g.alsoClaimedBy === null ? "no" : "yes", g.name]),
    ),
    "",
    "Locks",
    ...table(
      ["DEVICE ID", "STATE", "RECORD", "FILE"],
      r.locks.map((l) => [l.kind === "attachment" ? "(attachment)" : (l.deviceId ?? "?"), l.state, l.hasRecord ? "yes" : "no", l.file]),
    ),
    "",
    "Findings",
    ...(r.findings.length === 0 ? ["  (none)"] : r.findings.flatMap(renderFinding)),
    "",
    `${plural(r.summary.errors, "error")}, ${plural(r.summary.warnings, "warning")}, ${plural(r.summary.infos, "info")}: ${
      r.summary.needsAttention ? "needs attention" : "nothing needs attention"
    } (exit status ${r.summary.exitStatus})`,
  ];
  return `${out.join("\n")}\n`;
}

export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
