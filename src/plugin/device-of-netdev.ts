/**
 * ADD's last ways to a deviceID, when neither the config nor a 1.1.0 prevResult names one.
 * First the device the pod's interface (CNI_IFNAME, which the previous plugin moved in) sits on,
 * as the kernel names it inside the pod's netns (Linux 5.14+): a VF's netdev sits on the VF's PCI
 * function and an SF's on its auxiliary device. Then, where the kernel names none, the Go
 * rdma-cni's own way: the MAC of prevResult's one interface among the administrative MACs the
 * node's PFs give their VFs. Both find the VF whose netdev the pod got (docs/migration.md).
 */
import type { NamedDevice } from "../config/deviceid.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { NetnsError, type NetnsHandle } from "../netns/netns.ts";
import { KernelError } from "../rdma/kernel.ts";
import type { NetdevParent } from "../rdma/links.ts";
import { deviceIdOfParent, vfPciAddress } from "../rdma/sysfs.ts";
import { Errno } from "../sys/libc.ts";
import type { PluginDeps } from "./deps.ts";

/** What a refusal says the operator can do instead. */
const DEVICE_ID_REMEDY =
  'set "deviceID" in the network config, let the runtime pass runtimeConfig.deviceID (capability "deviceID", as Multus does with the SR-IOV device plugin), or chain after a plugin whose 1.1.0 result gives the container interface a pciID';

export function deviceIdOfPodInterface(deps: PluginDeps, pod: NetnsHandle, ifName: string, prevResult: Record<string, unknown>): NamedDevice {
  const byParent = deviceIdOfParentDevice(deps, pod, ifName);
  if ("deviceId" in byParent) return byParent;
  const byMac = deviceIdOfVfMac(deps, prevResult);
  if ("deviceId" in byMac) return byMac;
  throw new CniError(ErrorCode.InvalidConfig, `invalid network config: no deviceID for ${ifName}, and ${byParent.why}; nor by MAC: ${byMac.why}: ${DEVICE_ID_REMEDY}`);
}

function deviceIdOfParentDevice(deps: PluginDeps, pod: NetnsHandle, ifName: string): NamedDevice | { why: string } {
  let parent: NetdevParent | undefined;
  try {
    parent = deps.netns.inside(pod, () => deps.links.parentOf(ifName));
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    if (e instanceof KernelError && e.errno === Errno.ENODEV) return { why: `the pod's netns ${pod.path} has no interface ${ifName}` };
    return { why: `the kernel did not say which device interface ${ifName} in the pod sits on (${(e as Error).message})` };
  }
  if (!parent) return { why: `the kernel names no device under interface ${ifName} in the pod (a virtual interface, or a kernel before 5.14)` };
  const id = deviceIdOfParent(deps.sysfsRoot, parent);
  if ("error" in id) return { why: `interface ${ifName} in the pod: ${id.error}` };
  const via = parent.bus === "pci" || parent.bus === "auxiliary" ? "" : ` via ${parent.bus ?? "device"} ${parent.name}`;
  return { deviceId: id, source: `the device under ${ifName} in the pod${via}` };
}

const MAC_CHARS = 17; // aa:bb:cc:dd:ee:ff

/** As the Go plugin: exactly one interface in prevResult, its MAC one VF's administrative MAC. */
function deviceIdOfVfMac(deps: PluginDeps, prevResult: Record<string, unknown>): NamedDevice | { why: string } {
  const list = Array.isArray(prevResult.interfaces) ? prevResult.interfaces : [];
  if (list.length !== 1) return { why: `prevResult has ${list.length} interfaces, not one` };
  const raw = (list[0] as Record<string, unknown>).mac;
  const mac = typeof raw === "string" ? raw.toLowerCase() : "";
  if (mac.length !== MAC_CHARS) return { why: "prevResult's interface has no MAC" };
  let vfs: ReturnType<PluginDeps["links"]["vfMacs"]>;
  try {
    vfs = deps.links.vfMacs();
  } catch (e) {
    return { why: `cannot list the VFs' MACs (${(e as Error).message})` };
  }
  const matches = vfs.filter((v) => v.mac === mac);
  const addresses = [...new Set(matches.map((v) => vfPciAddress(deps.sysfsRoot, v.pf, v.vf)).filter((a) => a !== undefined))];
  const [address, ...more] = addresses;
  if (address === undefined) return { why: `no VF has the administrative MAC ${mac}` };
  if (more.length > 0) return { why: `several VFs have the administrative MAC ${mac}: ${addresses.join(", ")}` };
  const match = matches[0];
  return { deviceId: { kind: "pci", id: address }, source: `the VF whose administrative MAC is ${mac} (${match?.pf} VF ${match?.vf})` };
}
