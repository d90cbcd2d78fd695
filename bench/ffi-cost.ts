/**
 * What bun:ffi costs a process at its first use, measured inside the process (bench/oneshot-profile
 * runs it in the test VM): dlopen of libc with the plugin's nine symbols at once, one dlopen per
 * symbol, or one symbol alone, and the first call. usage: ffi-cost all|each|one
 */
import { dlopen, FFIType } from "bun:ffi";

const { i32, u32, u64, i64, ptr } = FFIType;
const SYMBOLS = {
  socket: { args: [i32, i32, i32], returns: i32 },
  send: { args: [i32, ptr, u64, i32], returns: i64 },
  recv: { args: [i32, ptr, u64, i32], returns: i64 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  close: { args: [i32], returns: i32 },
  setns: { args: [i32, i32], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  ioctl: { args: [i32, u64, u64], returns: i32 },
  __errno_location: { args: [], returns: ptr },
} as const;

const mode = process.argv[2] ?? "all";
const t0 = performance.now();
if (mode === "all") dlopen("libc.so.6", SYMBOLS).symbols.close(-1);
else if (mode === "one") dlopen("libc.so.6", { close: SYMBOLS.close }).symbols.close(-1);
else for (const [name, sig] of Object.entries(SYMBOLS)) dlopen("libc.so.6", { [name]: sig });
console.log(`ffi ${mode} ${(performance.now() - t0).toFixed(2)}`);
