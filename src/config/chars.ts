/**
 * The input checks of a CNI call as character loops, not regular expressions: a one-shot call
 * pays each RegExp's compilation at its first use, for one test (docs/bench.md).
 * test/unit/chars.test.ts checks each against the expression it replaced.
 */

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLower = (c: number) => c >= 97 && c <= 122;
const isAlnum = (c: number) => isDigit(c) || isLower(c) || (c >= 65 && c <= 90);
const isLowerHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102);
const isUpperHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70);

/** [A-Za-z0-9_-]: what a state file name keeps as it is. */
export const isSafeNameChar = (c: number) => isAlnum(c) || c === 95 || c === 45;

/** /^[A-Za-z0-9_-]*$/ */
export function isSafeName(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isSafeNameChar(s.charCodeAt(i))) return false;
  return true;
}

/** /^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/: what encodeComponent (state/store.ts) writes. */
export function isEncodedName(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (isSafeNameChar(c)) i++;
    else if (c === 37 && i + 2 < s.length && isUpperHex(s.charCodeAt(i + 1)) && isUpperHex(s.charCodeAt(i + 2))) i += 3;
    else return false;
  }
  return true;
}

/** /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/: a container ID or a network name. */
export function isIdentifier(s: string): boolean {
  if (s === "" || !isAlnum(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isSafeNameChar(c) || c === 46)) return false;
  }
  return true;
}

/** JavaScript's \s: the whitespace and line terminators of ECMAScript. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** /[/:\s\0]/: a character an interface name must not have. */
export function hasIfNameForbidden(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 47 || c === 58 || c === 0 || isSpace(c)) return true;
  }
  return false;
}

/** /[\0\n\r]/ */
export function hasNulOrLineBreak(s: string): boolean {
  return s.includes("\0") || s.includes("\n") || s.includes("\r");
}

/** /^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$/: a CNI version. */
export function isVersion(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 3) return false;
  for (const p of parts) {
    if (p.length < 1 || p.length > 4) return false;
    if (p.length > 1 && p.charCodeAt(0) === 48) return false;
    for (let i = 0; i < p.length; i++) if (!isDigit(p.charCodeAt(i))) return false;
  }
  return true;
}

function allOf(s: string, min: number, max: number, test: (c: number) => boolean): boolean {
  if (s.length < min || s.length > max) return false;
  for (let i = 0; i < s.length; i++) if (!test(s.charCodeAt(i))) return false;
  return true;
}

/** /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/: a PCI address, lower case. */
export function isPciAddress(s: string): boolean {
  const parts = s.split(":");
  if (parts.length !== 3) return false;
  const [domain = "", bus = "", slotFn = ""] = parts;
  if (!allOf(domain, 4, 8, isLowerHex) || !allOf(bus, 2, 2, isLowerHex) || slotFn.length !== 4) return false;
  const c0 = slotFn.charCodeAt(0);
  const fn = slotFn.charCodeAt(3);
  return (c0 === 48 || c0 === 49) && isLowerHex(slotFn.charCodeAt(1)) && slotFn.charCodeAt(2) === 46 && fn >= 48 && fn <= 55;
}

const isAuxChar = (c: number) => isLower(c) || isDigit(c) || c === 95;

/** /^[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,31}\.[0-9]{1,9}$/: an auxiliary device's name. */
export function isAuxName(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 3) return false;
  const [driver = "", kind = "", id = ""] = parts;
  for (const p of [driver, kind]) {
    if (!allOf(p, 1, 32, isAuxChar) || !isLower(p.charCodeAt(0))) return false;
  }
  return allOf(id, 1, 9, isDigit);
}
