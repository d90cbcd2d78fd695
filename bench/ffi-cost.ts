/**
 * What bun:ffi costs a process at its first use, measured inside the process (bench/oneshot-profile
 * runs it in the test VM): dlopen of libc with all the plugin's symbols at once, one dlopen per
 * symbol, or one symbol alone, and the first call. usage: ffi-cost all|each|one
 */
import { dlopen } from "bun:ffi";
import { LIBC_SYMBOLS as SYMBOLS } from "../src/sys/libc.ts";

const mode = process.argv[2] ?? "all";
const t0 = performance.now();
if (mode === "all") dlopen("libc.so.6", SYMBOLS).symbols.close(-1);
else if (mode === "one") dlopen("libc.so.6", { close: SYMBOLS.close }).symbols.close(-1);
else for (const [name, sig] of Object.entries(SYMBOLS)) dlopen("libc.so.6", { [name]: sig });
console.log(`ffi ${mode} ${(performance.now() - t0).toFixed(2)}`);
