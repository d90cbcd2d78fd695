/**
 * src/config/chars.ts replaced regular expressions on the one-shot path with character loops:
 * each must accept exactly what its expression accepted, on edge cases and random strings.
 */
import { describe, expect, test } from "bun:test";
import * as chars from "../../src/config/chars.ts";

const CASES: [string, (s: string) => boolean, RegExp][] = [
  ["isSafeName", chars.isSafeName, /^[A-Za-z0-9_-]*$/],
  ["isEncodedName", chars.isEncodedName, /^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/],
  ["isIdentifier", chars.isIdentifier, /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/],
  ["hasIfNameForbidden", chars.hasIfNameForbidden, /[/:\s\0]/],
  ["hasNulOrLineBreak", chars.hasNulOrLineBreak, /[\0\n\r]/],
  ["isVersion", chars.isVersion, /^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$/],
  ["isPciAddress", chars.isPciAddress, /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/],
  ["isAuxName", chars.isAuxName, /^[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,31}\.[0-9]{1,9}$/],
];

const EDGES = [
  "", ".", "..", "a", "A", "0", "-", "_", "%", "%2", "%2E", "%2e", "%ZZ", "a%2Eb", "a.b", "a b", "a\tb", "a\u00a0b",
  "a\u2028b", "a\ufeffb", "a\u3000b", "a\u200bb", "a/b", "a:b", "a\0b", "a\nb", "a\rb", "é", "0.3.0", "1.1.0", "01.0.0",
  "0.0.0", "9999.9999.9999", "10000.0.0", "1.0", "1.0.0.0", "1.0.0\n", " 1.0.0", "1..0", "٣.0.0", "0000:03:00.5",
  "0000:03:1f.7", "0000:03:20.0", "0000:03:00.8", "000:03:00.5", "00000000:ff:1f.0", "000000000:ff:1f.0", "0000:3:00.5",
  "0000:03:00.5:", "0000:03:00-5", "0000:0g:00.5", "mlx5_core.sf.4", "mlx5_core.sf.", "5mlx.sf.4", "mlx5_core.sf.1234567890",
  "mlx5_core.sf.123456789", `${"a".repeat(32)}.b.1`, `${"a".repeat(33)}.b.1`, "a.b.1.2", "A.b.1", "a.B.1", "a._.1", "a.b_.1",
  "c1", "abc-DEF_1.2", ".c1", "_c1", "c1.", "net1", "sriov-network", "a".repeat(300),
];

/** Random strings over the characters the expressions care about, and a few others. */
function randomStrings(n: number): string[] {
  const alphabet = "aAzZ09fF_-.%:/ \t\n\r\0\u00a0\u2028\u2029\ufeffgGé7 8";
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rand() * 16);
    let s = "";
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
    out.push(s);
  }
  return out;
}

/** Strings shaped like the valid ones with one character changed, so the near misses are tried too. */
function mutations(): string[] {
  const seeds = ["0000:03:00.5", "mlx5_core.sf.4", "1.0.0", "a%2Eb", "abc-d.e_f"];
  const subs = ["0", "9", "a", "f", "g", "A", "F", ".", ":", "%", "_", "-", " ", "\n", "\0", ""];
  const out: string[] = [];
  for (const s of seeds) {
    for (let i = 0; i <= s.length; i++) {
      for (const c of subs) {
        out.push(s.slice(0, i) + c + s.slice(i + 1));
        out.push(s.slice(0, i) + c + s.slice(i));
      }
    }
  }
  return out;
}

describe("config/chars: loops that accept what their regular expressions accepted", () => {
  const inputs = [...EDGES, ...mutations(), ...randomStrings(20000)];
  for (const [name, fn, re] of CASES) {
    test(`${name} = ${re}`, () => {
      const differ = inputs.filter((s) => fn(s) !== re.test(s));
      expect(differ.map((s) => JSON.stringify(s))).toEqual([]);
    });
  }
  test("every 16-bit character: \\s in interface names", () => {
    for (let c = 0; c < 0x10000; c++) {
      const s = `a${String.fromCharCode(c)}`;
      if (chars.hasIfNameForbidden(s) !== /[/:\s\0]/.test(s)) throw new Error(`differs at U+${c.toString(16)}`);
    }
  });
});
