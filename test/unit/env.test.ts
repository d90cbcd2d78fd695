/** The CNI_* environment, as the spec constrains it. */
import { describe, expect, test } from "bun:test";
import { argsDebug, parseArgs, parseEnv } from "../../src/config/env.ts";
import { CniError } from "../../src/errors.ts";

const ok = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc-123_x.y", CNI_NETNS: "/var/run/netns/p", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin" };

function code(env: Record<string, string | undefined>): [number, string] {
  try {
    parseEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return [(e as CniError).code, (e as CniError).message];
  }
  return [0, ""];
}

describe("parseEnv", () => {
  test("a complete ADD environment parses", () => {
    expect(parseEnv(ok)).toMatchObject({ command: "ADD", containerId: "abc-123_x.y", netns: "/var/run/netns/p", ifName: "net1" });
  });

  test("DEL may come without CNI_NETNS; GC and STATUS without container and interface", () => {
    expect(parseEnv({ ...ok, CNI_COMMAND: "DEL", CNI_NETNS: "" }).netns).toBe("");
    expect(parseEnv({ CNI_COMMAND: "GC" }).command).toBe("GC");
    expect(parseEnv({ CNI_COMMAND: "STATUS" }).command).toBe("STATUS");
  });

  test.each([
    [{ CNI_COMMAND: undefined }, "CNI_COMMAND"],
    [{ CNI_COMMAND: "add" }, "CNI_COMMAND"],
    [{ CNI_COMMAND: "DELETE" }, "CNI_COMMAND"],
    [{ CNI_CONTAINERID: "" }, "CNI_CONTAINERID"],
    [{ CNI_CONTAINERID: "../x" }, "CNI_CONTAINERID"],
    [{ CNI_CONTAINERID: "a/b" }, "CNI_CONTAINERID"],
    [{ CNI_CONTAINERID: "a\nb" }, "CNI_CONTAINERID"],
    [{ CNI_CONTAINERID: "a\0b" }, "CNI_CONTAINERID"],
    [{ CNI_CONTAINERID: "-a" }, "CNI_CONTAINERID"],
    [{ CNI_CONTAINERID: "a".repeat(1025) }, "CNI_CONTAINERID"],
    [{ CNI_NETNS: "" }, "CNI_NETNS"],
    [{ CNI_NETNS: "relative/path" }, "CNI_NETNS"],
    [{ CNI_NETNS: "/a\nb" }, "CNI_NETNS"],
    [{ CNI_NETNS: `/${"a".repeat(5000)}` }, "CNI_NETNS"],
    [{ CNI_IFNAME: "" }, "CNI_IFNAME"],
    [{ CNI_IFNAME: "a".repeat(16) }, "CNI_IFNAME"],
    [{ CNI_IFNAME: "é".repeat(8) }, "CNI_IFNAME"],
    [{ CNI_IFNAME: "." }, "CNI_IFNAME"],
    [{ CNI_IFNAME: ".." }, "CNI_IFNAME"],
    [{ CNI_IFNAME: "a/b" }, "CNI_IFNAME"],
    [{ CNI_IFNAME: "a:b" }, "CNI_IFNAME"],
    [{ CNI_IFNAME: "a b" }, "CNI_IFNAME"],
    [{ CNI_ARGS: "novalue" }, "CNI_ARGS"],
    [{ CNI_ARGS: "=x" }, "CNI_ARGS"],
  ])("%p is refused with code 4 naming the variable", (patch, variable) => {
    const [c, msg] = code({ ...ok, ...patch });
    expect(c).toBe(4);
    expect(msg).toContain(variable);
  });

  test("an interface name of exactly 15 bytes is accepted", () => {
    expect(parseEnv({ ...ok, CNI_IFNAME: "a".repeat(15) }).ifName).toHaveLength(15);
  });
});

describe("CNI_ARGS", () => {
  test("pairs are split on ';' and '=' and unknown keys are kept", () => {
    const args = parseArgs("IgnoreUnknown=1;K8S_POD_NAME=p;debug=true;K=a=b");
    expect(args.get("K8S_POD_NAME")).toBe("p");
    expect(args.get("K")).toBe("a=b");
    expect(argsDebug(args)).toBe(true);
  });

  test("debug takes boolean spellings and refuses others", () => {
    expect(argsDebug(parseArgs("debug=false"))).toBe(false);
    expect(argsDebug(parseArgs("x=1"))).toBeUndefined();
    expect(() => argsDebug(parseArgs("debug=maybe"))).toThrow(CniError);
  });
});
