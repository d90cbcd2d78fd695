/**
 * Layer rules for src/ (docs/architecture.md: what each layer owns and why imports point down),
 * checked by `make lint`: dependency-cruiser fails the build on an import that points up this
 * list. A layer may import its own and any lower layer. It parses TypeScript with @swc/core: its typescript parser
 * needs the JavaScript API of typescript 5 or older, and this project compiles with 7.
 */
const LAYERS = [
  // Wiring only: the program's entry points (the executable and the engine's worker thread).
  { name: "entry", path: "^src/(main|wiring)\\.ts$|^src/engine/worker\\.ts$" },
  // The subcommands: the engine serves CNI calls through cni/; install and doctor report.
  { name: "commands", path: "^src/(engine|install|doctor)/" },
  // The CNI protocol: runs one call (input, dispatch, result and error JSON).
  { name: "cni", path: "^src/cni/" },
  // What each verb does, over the interfaces below.
  { name: "plugin", path: "^src/plugin/" },
  // The call's input (config/), attachment records (state/), the kernel (rdma/, netns/).
  { name: "domain", path: "^src/(config|state|rdma|netns)/" },
  // Leaves: libc, the error type, logging, build info, the subcommands' flag reader.
  { name: "leaves", path: "^src/(sys/|errors\\.ts$|log\\.ts$|buildinfo\\.ts$|cli-args\\.ts$)" },
];

const upward = LAYERS.flatMap((lower, i) =>
  LAYERS.slice(0, i).map((upper) => ({
    name: `${lower.name}-not-to-${upper.name}`,
    comment: `${lower.name} sits below ${upper.name}: imports point down (docs/architecture.md)`,
    severity: "error",
    from: { path: lower.path, pathNot: LAYERS[0].path },
    to: { path: upper.path },
  })),
);

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "in-a-layer",
      comment: "every module of src/ belongs to a layer above (a new folder gets its place in LAYERS)",
      severity: "error",
      from: { path: "^src/", pathNot: LAYERS.map((l) => `(${l.path})`).join("|") },
      to: {},
    },
    {
      name: "not-to-test",
      comment: "production code never imports test code (fakes live under test/)",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "no-circular",
      comment: "a cycle makes two modules one layer in disguise",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "not-unresolvable",
      comment: "an import that resolves to nothing",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: "swc",
    doNotFollow: { path: "node_modules" },
    builtInModules: { add: ["bun", "bun:ffi", "bun:test", "bun:jsc"] },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
