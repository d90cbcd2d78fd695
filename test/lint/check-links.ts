/**
 * `make lint`'s link check: every relative link and image in the given Markdown files must name
 * a file that exists, and every #anchor a heading of its target. Web links are not fetched (the
 * machines reach no web); they are only counted.
 * Usage: bun test/lint/check-links.ts FILE.md...
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1] ?? "");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Problems with the links of one Markdown file, each as "file:line: what". */
export function checkFile(file: string): { problems: string[]; web: number } {
  const problems: string[] = [];
  let web = 0;
  let fenced = false;
  fs.readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line.startsWith("```")) fenced = !fenced;
      if (fenced) return;
      const text = line.replace(/`[^`]*`/g, "");
      for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1] ?? "";
        if (/^[a-z]+:/i.test(target)) {
          web++;
          continue;
        }
        const [rel = "", anchor] = target.split("#", 2);
        const dest = rel === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(rel));
        const where = `${file}:${i + 1}`;
        if (!fs.existsSync(dest)) {
          problems.push(`${where}: ${target}: no such file`);
          continue;
        }
        if (anchor !== undefined && dest.endsWith(".md") && !anchors(dest).has(anchor)) {
          problems.push(`${where}: ${target}: no heading with that anchor in ${path.relative(".", dest)}`);
        }
      }
    });
  return { problems, web };
}

if (import.meta.main) {
  const files = process.argv.slice(2);
  let web = 0;
  const problems: string[] = [];
  for (const f of files) {
    const r = checkFile(f);
    problems.push(...r.problems);
    web += r.web;
  }
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.stdout.write(`links: ${files.length} files, ${problems.length} broken, ${web} web links not fetched\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
