/**
 * src/config/netconf.ts's parseCniVersion and parseNetConf written with valibot, for the
 * measurement of bench/config-schema/run only (docs/config-validation.md). Same fields, same rules,
 * same NetConf out, same CniError codes; the character checks, deviceID and RDMA name rules are
 * the plugin's own functions, called from the schema. What the library writes itself are the
 * type messages ("Invalid type: Expected string but received 5"); the rules it cannot know
 * (name, deviceID, rdmaDeviceName) keep our wording.
 *
 * Two checks are not in the schema but in plain code after it, as anyone would write them with
 * a schema library: which deviceID wins (only the winner is parsed) and whether prevResult's
 * version can be read under the config's (it depends on the version parsed before).
 */
import * as v from "valibot";
import { isIdentifier } from "../../src/config/chars.ts";
import { type DeviceId, isDeviceId, parseDeviceId } from "../../src/config/deviceid.ts";
import type { NetConf, PrevResult, ResultInterface } from "../../src/config/netconf.ts";
import { type RdmaNameField, rdmaNameProblem } from "../../src/config/rdma-name.ts";
import { isSupported, isWellFormed, SUPPORTED_VERSIONS } from "../../src/config/version.ts";
import { CniError, ErrorCode } from "../../src/errors.ts";
import { LOG_LEVELS, type LogLevel } from "../../src/log.ts";

const MAX_NETWORK_NAME = 253;

const optString = v.nullish(v.string());

/**
 * An object that is not an array: valibot's object schemas take an array as an object (its
 * type check is typeof "object"), so every object of the config needs this guard in front.
 */
const plainObject = <const E extends v.ObjectEntries>(entries: E) =>
  v.pipe(
    v.custom<Record<string, unknown>>(
      (x) => typeof x === "object" && x !== null && !Array.isArray(x),
      (i) => `Invalid type: Expected Object but received ${i.received}`,
    ),
    v.looseObject(entries),
  );

/** An optional string that, when given and not empty, must pass `problem` (our own wording). */
const checkedString = (problem: (s: string) => string | undefined) =>
  v.nullish(v.pipe(v.string(), v.check((s) => s === "" || problem(s) === undefined, (issue) => problem(issue.input as string) ?? "")));

const rdmaName = checkedString(rdmaNameProblem);

const versionSchema = v.pipe(
  v.string(),
  v.nonEmpty("is missing"),
  v.check(isWellFormed, (i) => `${JSON.stringify((i.input as string).slice(0, 40))} is not a version like 1.1.0`),
);

const versionOnly = v.looseObject({ cniVersion: versionSchema });

const iface = plainObject({ name: v.string(), sandbox: optString, pciID: optString });

const prevResultSchema = plainObject({
  cniVersion: optString,
  interfaces: v.nullish(v.array(iface)),
  ips: v.nullish(v.array(v.unknown())),
  routes: v.nullish(v.array(v.unknown())),
  dns: v.nullish(plainObject({})),
});

const netConfSchema = v.looseObject({
  name: v.pipe(
    v.string(),
    v.nonEmpty("must be a non-empty string"),
    v.check(
      (s) => s.length <= MAX_NETWORK_NAME && isIdentifier(s),
      (i) =>
        `${JSON.stringify((i.input as string).slice(0, 80))} must be at most ${MAX_NETWORK_NAME} characters of letters, digits, _ . - starting with a letter or digit`,
    ),
  ),
  type: v.pipe(v.string(), v.nonEmpty("must be a non-empty string")),
  deviceID: optString,
  runtimeConfig: v.nullish(
    plainObject({ deviceID: optString, CNIDeviceInfoFile: optString, rdmaDeviceName: rdmaName }),
  ),
  args: v.nullish(plainObject({ cni: v.nullish(plainObject({ debug: v.nullish(v.boolean()), rdmaDeviceName: rdmaName })) })),
  rdmaDeviceName: rdmaName,
  logLevel: v.nullish(v.picklist(LOG_LEVELS)),
  logFile: optString,
  stateDir: optString,
  prevResult: v.nullish(prevResultSchema),
  "cni.dev/valid-attachments": v.nullish(v.array(plainObject({ containerID: v.string(), ifname: v.string() }))),
});

/** prevResult.interfaces[0].name, as our messages name a field. */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  let out = "";
  for (const item of issue.path ?? []) {
    out += typeof item.key === "number" ? `[${item.key}]` : `${out === "" ? "" : "."}${String(item.key)}`;
  }
  return out;
}

/** Every issue the library found, each with its field: a config with three mistakes gets one message. */
function issuesMessage(issues: readonly v.BaseIssue<unknown>[]): string {
  return `invalid network config: ${issues.map((i) => `${fieldOf(i)} ${i.message}`).join("; ")}`;
}

function configError(field: string, problem: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid network config: ${field} ${problem}`);
}

export function parseCniVersion(obj: Record<string, unknown>): string {
  const r = v.safeParse(versionOnly, obj);
  if (!r.success) throw new CniError(ErrorCode.IncompatibleVersion, issuesMessage(r.issues));
  const version = r.output.cniVersion;
  if (!isSupported(version)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `cniVersion ${version} is not supported`, `supported versions: ${SUPPORTED_VERSIONS.join(", ")}`);
  }
  return version;
}

export function parseNetConf(obj: Record<string, unknown>, cniVersion: string = parseCniVersion(obj)): NetConf {
  const r = v.safeParse(netConfSchema, obj);
  if (!r.success) throw new CniError(ErrorCode.InvalidConfig, issuesMessage(r.issues));
  const c = r.output;
  const rc = c.runtimeConfig ?? {};
  const conf: NetConf = { cniVersion, name: c.name, type: c.type, debug: c.args?.cni?.debug ?? false };

  // runtimeConfig carries what the runtime resolved for this very attachment: it wins, and only
  // the winner is parsed.
  const [rawId, field] = rc.deviceID ? [rc.deviceID, "runtimeConfig.deviceID" as const] : [c.deviceID, "deviceID" as const];
  if (rawId) {
    const parsed: DeviceId | { error: string } = parseDeviceId(rawId);
    if (!isDeviceId(parsed)) throw configError(field, parsed.error);
    conf.deviceId = parsed;
    conf.deviceIdField = field;
  }
  conf.deviceInfoFile = rc.CNIDeviceInfoFile ?? undefined;

  const names: [string | null | undefined, RdmaNameField][] = [
    [c.args?.cni?.rdmaDeviceName, "args.cni.rdmaDeviceName"],
    [rc.rdmaDeviceName, "runtimeConfig.rdmaDeviceName"],
    [c.rdmaDeviceName, "rdmaDeviceName"],
  ];
  const chosen = names.find(([n]) => n);
  if (chosen) [conf.rdmaDeviceName, conf.rdmaDeviceNameField] = [chosen[0] as string, chosen[1]];

  if (c.logLevel != null) conf.logLevel = c.logLevel as LogLevel;
  conf.logFile = c.logFile ?? undefined;
  conf.stateDir = c.stateDir ?? undefined;
  if (c.prevResult != null) conf.prevResult = prevResultOf(obj.prevResult as Record<string, unknown>, c.prevResult, cniVersion);
  const valid = c["cni.dev/valid-attachments"];
  if (valid != null) conf.validAttachments = valid.map(({ containerID, ifname }) => ({ containerID, ifname }));
  return conf;
}

/** The families of result versions that share one JSON format: src/config/netconf.ts resultFormat. */
const RESULT_FORMATS: readonly (readonly string[])[] = [
  ["0.3.0", "0.3.1", "0.4.0"],
  ["1.0.0", "1.1.0"],
];

function prevResultOf(raw: Record<string, unknown>, p: v.InferOutput<typeof prevResultSchema>, cniVersion: string): PrevResult {
  const version = p.cniVersion ?? cniVersion;
  const family = RESULT_FORMATS.find((f) => f.includes(cniVersion)) ?? [cniVersion];
  if (!family.includes(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `prevResult.cniVersion ${JSON.stringify(version.slice(0, 40))} cannot be read under the config's cniVersion ${cniVersion}`,
      `a ${cniVersion} config takes a prevResult of version ${family.join(", ")}; the runtime passes the previous plugin's result as it printed it`,
    );
  }
  const interfaces = (p.interfaces ?? []).map((i): ResultInterface => {
    const out: ResultInterface = { name: i.name };
    if (i.sandbox != null) out.sandbox = i.sandbox;
    if (i.pciID) out.pciID = i.pciID;
    return out;
  });
  return { raw, cniVersion: version, interfaces };
}
