/** The link check of `make lint` (test/lint/check-links.ts) on Markdown files made for the test. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { checkFile, slug } from "./check-links.ts";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(`${os.tmpdir()}/rdma-links-`);
  fs.mkdirSync(`${dir}/docs`);
  fs.writeFileSync(`${dir}/docs/deploy.md`, "# Deploy\n\n## System configuration: netns exclusive mode\n\n```\n# not a heading\n```\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function check(markdown: string): string[] {
  fs.writeFileSync(`${dir}/README.md`, markdown);
  return checkFile(`${dir}/README.md`).problems;
}

describe("link check", () => {
  test("a link to an existing file, and to one of its headings, passes", () => {
    expect(check("[d](docs/deploy.md) and [m](docs/deploy.md#system-configuration-netns-exclusive-mode)\n")).toEqual([]);
  });
  test("a link to a missing file is reported with its line", () => {
    const p = check("fine\n[engine](engine.md)\n");
    expect(p).toHaveLength(1);
    expect(p[0]).toContain("README.md:2: engine.md: no such file");
  });
  test("an anchor that no heading has is reported; a heading inside a code fence is no heading", () => {
    expect(check("[x](docs/deploy.md#nowhere)\n")[0]).toContain("no heading with that anchor");
    expect(check("[x](docs/deploy.md#not-a-heading)\n")).toHaveLength(1);
  });
  test("a link to a heading of the same file, an image, and web links", () => {
    expect(check("# Top part\n[t](#top-part) ![c](docs/deploy.md) [w](https://example.org/x)\n")).toEqual([]);
    expect(check("[t](#bottom)\n")).toHaveLength(1);
    expect(checkFile(`${dir}/README.md`).web).toBe(0);
  });
  test("links inside code spans and fences are text, not links", () => {
    expect(check("`[a](missing.md)`\n```\n[b](missing.md)\n```\n")).toEqual([]);
  });
  test("anchors are made as GitHub makes them", () => {
    expect(slug("System configuration: netns exclusive mode")).toBe("system-configuration-netns-exclusive-mode");
    expect(slug("The engine (`rdma engine --socket PATH`, `src/engine/`)")).toBe("the-engine-rdma-engine---socket-path-srcengine");
  });
});
