/**
 * The subcommands' command lines (engine, doctor, install) in one syntax: `--flag value` and
 * `--flag=value` alike, `-h` or `--help` anywhere, no positional arguments. node:util's parseArgs
 * splits the arguments; it runs lenient because its strict mode names the offending flag only
 * inside prose written for Node programs, and the rules below give each mistake our own message,
 * naming the argument. Only the subcommands load this file (src/main.ts imports them on demand),
 * so a one-shot CNI call never loads node:util.
 */
import { parseArgs } from "node:util";

/** A flag by its long name without the dashes: a switch, or one that takes a value (what it needs). */
type FlagSpecs = Record<string, "switch" | { needs: string }>;

/** One flag as given, in command-line order; a switch's value is "". */
interface GivenFlag<Name extends string> {
  name: Name;
  value: string;
}

type ReadFlags<Name extends string> = { help: true } | { help: false; given: GivenFlag<Name>[] } | { error: string };

export function readFlags<Specs extends FlagSpecs>(argv: readonly string[], specs: Specs): ReadFlags<keyof Specs & string> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec === "switch" ? "boolean" : "string" };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === "option" && t.name === "help" && t.value === undefined)) return { help: true };

  const given: GivenFlag<keyof Specs & string>[] = [];
  for (const token of tokens) {
    const arg = argv[token.index] ?? "";
    if (token.kind !== "option") return { error: `unknown argument ${JSON.stringify(arg)}` };
    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    // A switch given a value (`--json=yes`) is no flag we know either.
    if (spec === undefined || (spec === "switch" && token.value !== undefined)) {
      return { error: `unknown argument ${JSON.stringify(token.inlineValue ? arg : token.rawName)}` };
    }
    const flag = `--${token.name}`;
    if (spec === "switch") {
      given.push({ name: token.name, value: "" });
      continue;
    }
    // The next argument is a flag, not this one's value: `--socket --check` is a forgotten path.
    // A value that does begin with a dash goes after `=`.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith("-"))) return { error: `${flag} needs ${spec.needs}` };
    if (token.value === "") return { error: `${flag} must not be empty` };
    given.push({ name: token.name, value: token.value });
  }
  return { help: false, given };
}
