/**
 * rdmaDeviceName: the RDMA device name a pod asks for. Read from three places (precedence in
 * README "Configuration"): args.cni (what Multus passes from a pod's network selection
 * `cni-args`), runtimeConfig, and the top level of the network config. Pure.
 */

/**
 * IB_DEVICE_NAME_MAX (include/rdma/ib_verbs.h) is 64 bytes with the NUL. The kernel copies the
 * attribute with nla_strscpy into a buffer of that size, so a longer name would be cut short
 * silently (seen in the VM, docs/device-name.md): refused here instead.
 */
export const MAX_RDMA_NAME_BYTES = 63;

export type RdmaNameField = "args.cni.rdmaDeviceName" | "CNI_ARGS rdmaDeviceName" | "runtimeConfig.rdmaDeviceName" | "rdmaDeviceName";

/** Why `name` cannot be an RDMA device name, or undefined when it can. */
export function rdmaNameProblem(name: string): string | undefined {
  if (name === "." || name === "..") return `${JSON.stringify(name)} is not a usable name (it is a directory entry in /sys/class/infiniband)`;
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_RDMA_NAME_BYTES) return `is ${bytes} bytes long; the kernel's limit is ${MAX_RDMA_NAME_BYTES} (IB_DEVICE_NAME_MAX 64 with the NUL)`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 47) return `${JSON.stringify(name)} must not contain '/' (it names a sysfs directory)`;
    if (c === 37) return `${JSON.stringify(name)} must not contain '%' (the kernel reads it as a name template elsewhere)`;
    if (c < 32 || c === 127 || (c >= 0x80 && c < 0xa0)) return `${JSON.stringify(name)} must not contain control characters`;
    if (isWhitespace(c)) return `${JSON.stringify(name)} must not contain whitespace`;
  }
  return undefined;
}

/** \s of JavaScript, without the control characters (refused above already). */
function isWhitespace(c: number): boolean {
  return c === 32 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The name a device that could not get its host name back is left under on the host: the host
 * name, "-from-", and the name it had in the pod, cut to the kernel's limit, with "-2".."-9"
 * when that is taken too (docs/device-name.md). `n` is the attempt, from 1.
 */
export function fallbackHostName(hostName: string, podName: string, n: number): string {
  const suffix = n > 1 ? `-${n}` : "";
  const full = `${hostName}-from-${podName}`;
  const enc = new TextEncoder();
  const chars = [...full]; // by code point: never half of a surrogate pair
  while (enc.encode(chars.join("") + suffix).length > MAX_RDMA_NAME_BYTES) chars.pop();
  return chars.join("") + suffix;
}

/** The "-from-" names fallbackHostName gives: the host name the device had, when `name` is one. */
export function hostNameOfFallback(name: string): string | undefined {
  const i = name.indexOf("-from-");
  return i > 0 ? name.slice(0, i) : undefined;
}
