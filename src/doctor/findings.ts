/**
 * What `rdma doctor` can find, each with a fixed severity. The severity decides the exit status:
 * "info" never makes it non-zero, "warning" and "error" do (something needs a person's attention;
 * "error" means pods on this node cannot get, or do not have, their RDMA device).
 * docs/doctor.md lists the same ids; a test keeps the two in step.
 */

type Severity = "info" | "warning" | "error";

export const FINDINGS = {
  "rdma-absent": { severity: "error", title: "the node has no RDMA subsystem (RDMA netlink does not answer)" },
  "rdma-unreachable": { severity: "error", title: "the RDMA netns mode cannot be read" },
  "netns-mode-shared": { severity: "error", title: "the RDMA subsystem is in netns shared mode" },
  "no-rdma-devices": { severity: "info", title: "the RDMA subsystem has no device on the host and none is recorded as attached" },
  "kernel-release-unknown": { severity: "info", title: "the kernel release cannot be read" },
  "state-dir-missing": { severity: "info", title: "the state directory does not exist (no attachment since boot)" },
  "state-unreadable": { severity: "error", title: "the state directory cannot be listed" },
  "record-unreadable": { severity: "error", title: "a file in the attachments directory is not a valid record" },
  "record-netns-gone": { severity: "warning", title: "a record's network namespace no longer exists" },
  "record-netns-invalid": { severity: "error", title: "a record's netns path is not a network namespace" },
  "record-device-missing": { severity: "error", title: "a record's device is not in its network namespace" },
  "record-duplicate-device": { severity: "error", title: "two records claim the same device" },
  "record-interrupted": { severity: "warning", title: "a record stuck in phase moving: an ADD or DEL died halfway" },
  "record-in-progress": { severity: "info", title: "a record in phase moving while a CNI call holds its device's lock" },
  "record-unverified": { severity: "warning", title: "a record could not be checked (its netns cannot be entered or listed)" },
  "device-pod-name": { severity: "warning", title: "a device on the host carries the name a pod gave it (rdmaDeviceName), not its host name" },
  "go-record-unreadable": { severity: "warning", title: "a file among the Go rdma-cni's records is not one, or the directory cannot be listed" },
  "go-record-device-on-host": { severity: "warning", title: "a Go rdma-cni record says its device is in a pod, but the device is on the host" },
  "go-record-device-ours": { severity: "warning", title: "a Go rdma-cni record and a record of this plugin claim the same device" },
  "stale-lock": { severity: "info", title: "a lock file nobody holds, of a device without a record or of an attachment: left by a killed call" },
  "lock-held": { severity: "info", title: "a device's lock is held right now by a running CNI call" },
  "lock-unreadable": { severity: "warning", title: "a lock file cannot be opened or probed" },
} as const satisfies Record<string, { severity: Severity; title: string }>;

type FindingId = keyof typeof FINDINGS;

export interface Finding {
  id: FindingId;
  severity: Severity;
  /** What the finding is about: "rdma", a device name, a record or lock file path. */
  subject: string;
  message: string;
  /** What to do about it, when there is something to do. */
  fix?: string;
}

export function finding(id: FindingId, subject: string, message: string, fix?: string): Finding {
  const f: Finding = { id, severity: FINDINGS[id].severity, subject, message };
  if (fix !== undefined) f.fix = fix;
  return f;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then infos; the order of discovery within a severity. */
export function bySeverity(findings: readonly Finding[]): Finding[] {
  return findings.map((f, i) => ({ f, i })).sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i).map(({ f }) => f);
}

export function needsAttention(f: Finding): boolean {
  return f.severity !== "info";
}
