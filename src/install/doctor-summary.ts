/**
 * The installer logs what `rdma doctor` would print, once, at start: the node's RDMA state is in
 * `kubectl logs` without exec'ing into anything. Advisory only: a report that cannot be made is
 * one log line, never an install failure.
 */
import type { Logger } from "../log.ts";

/** What the installer reads of a doctor report (src/doctor/report.ts). */
export interface SummaryReport {
  summary: { errors: number; warnings: number; infos: number; needsAttention: boolean };
  findings: readonly { id: string }[];
}

interface DoctorSummarySource<R extends SummaryReport> {
  report: () => R;
  render: (report: R) => string;
}

/** One JSON log line with the counts, then the rendered report as one write of its own. */
export function logDoctorSummary<R extends SummaryReport>(source: DoctorSummarySource<R>, writeBlock: (text: string) => void, log: Logger): void {
  let report: R;
  let text: string;
  try {
    report = source.report();
    text = source.render(report);
  } catch (e) {
    log.warn("cannot make the rdma doctor summary", { error: e instanceof Error ? e.message : String(e) });
    return;
  }
  const { errors, warnings, infos, needsAttention } = report.summary;
  const fields = { errors, warnings, infos, findings: [...new Set(report.findings.map((f) => f.id))] };
  if (needsAttention) log.warn("rdma doctor summary follows: the node needs attention", fields);
  else log.info("rdma doctor summary follows", fields);
  writeBlock(text.endsWith("\n") ? text : `${text}\n`);
}
