/**
 * Runs every config of cases.ts through both validations (src/config/netconf.ts and
 * netconf-valibot.ts), the way the dispatcher calls them (cniVersion first, then the rest), and
 * prints a Markdown table of code and message side by side. It also holds the two to the same
 * verdict: the same code on every case, and the same NetConf on every valid one; a difference is
 * printed and the exit status is 1, so the comparison cannot quietly drift from the plugin.
 */
import * as hand from "../../src/config/netconf.ts";
import { CniError } from "../../src/errors.ts";
import { CASES } from "./cases.ts";
import * as schema from "./netconf-valibot.ts";

type Parse = { parseCniVersion: typeof hand.parseCniVersion; parseNetConf: typeof hand.parseNetConf };

function run(p: Parse, conf: Record<string, unknown>): { code: number; msg: string; conf?: unknown } {
  try {
    const copy = structuredClone(conf);
    const out = p.parseNetConf(copy, p.parseCniVersion(copy));
    return { code: 0, msg: "(accepted)", conf: out };
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return { code: e.code, msg: e.message };
  }
}

const cell = (s: string) => s.replaceAll("|", "\\|");
let differences = 0;
console.log("| config | hand-written (src/config/netconf.ts) | valibot (bench/config-schema) |");
console.log("|---|---|---|");
for (const [what, conf] of CASES) {
  const a = run(hand, conf);
  const b = run(schema, conf);
  const same = a.code === b.code && (a.code !== 0 || Bun.deepEquals(a.conf, b.conf));
  if (!same) differences++;
  console.log(`| ${cell(what)}${same ? "" : " **(differs)**"} | ${a.code}: ${cell(a.msg)} | ${b.code}: ${cell(b.msg)} |`);
}
console.log(`\n${CASES.length} configs, ${differences} with a different verdict or NetConf`);
process.exit(differences === 0 ? 0 : 1);
