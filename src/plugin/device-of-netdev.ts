/**
 * ADD's last way to a deviceID, when neither the config nor a 1.1.0 prevResult names one: the
 * device the pod's interface (CNI_IFNAME, which the previous plugin moved in) sits on, as the
 * kernel names it inside the pod's netns. A VF's netdev sits on the VF's PCI function and an
 * SF's on its auxiliary device: the same device the Go rdma-cni finds by matching the MAC in
 * prevResult against its PF's VF administrative MACs, without needing those MACs set or unique,
 * and for SFs too. The kernel names a netdev's parent since Linux 5.14 (docs/migration.md).
 */
import type { DeviceId } from "../config/deviceid.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { NetnsError, type NetnsHandle } from "../netns/netns.ts";
import { KernelError } from "../rdma/kernel.ts";
import type { NetdevParent } from "../rdma/links.ts";
import { deviceIdOfParent } from "../rdma/sysfs.ts";
import { Errno } from "../sys/libc.ts";
import type { PluginDeps } from "./deps.ts";

/** What a refusal says the operator can do instead. */
export const DEVICE_ID_REMEDY =
  'set "deviceID" in the network config, let the runtime pass runtimeConfig.deviceID (capability "deviceID", as Multus does with the SR-IOV device plugin), or chain after a plugin whose 1.1.0 result gives the container interface a pciID';

export function deviceIdOfPodInterface(deps: PluginDeps, pod: NetnsHandle, ifName: string): { deviceId: DeviceId; source: string } {
  const refuse = (why: string) => new CniError(ErrorCode.InvalidConfig, `invalid network config: no deviceID for ${ifName}, and ${why}: ${DEVICE_ID_REMEDY}`);
  let parent: NetdevParent | undefined;
  try {
    parent = deps.netns.inside(pod, () => deps.links.parentOf(ifName));
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.NetnsInvalid, e.message);
    if (e instanceof KernelError && e.errno === Errno.ENODEV) throw refuse(`the pod's netns ${pod.path} has no interface ${ifName}`);
    throw refuse(`the kernel did not say which device interface ${ifName} in the pod sits on (${(e as Error).message})`);
  }
  if (!parent) throw refuse(`the kernel names no device under interface ${ifName} in the pod (a virtual interface, or a kernel before 5.14)`);
  const id = deviceIdOfParent(deps.sysfsRoot, parent);
  if ("error" in id) throw refuse(`interface ${ifName} in the pod: ${id.error}`);
  const via = parent.bus === "pci" || parent.bus === "auxiliary" ? "" : ` via ${parent.bus ?? "device"} ${parent.name}`;
  return { deviceId: id, source: `the device under ${ifName} in the pod${via}` };
}
