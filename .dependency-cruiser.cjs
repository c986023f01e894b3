// The layering of docs/architecture.md, checked by `npm run lint:deps` (part of `npm test`).
// From the bottom: shared/ (the contract) → main/kit (building blocks) → the parts → main/engine
// (the one composition root) → the hosts (daemon, electron, the relay and devnet CLIs, their
// common main/hosts). An import may only point down. Tests are held to the direction of the
// code they test only where it matters for shipping code: a test may reach into any part.

/** A test file or a test helper folder. */
const TEST = '(\\.test\\.tsx?$|/test/)'
/** The parts: everything the engine composes. */
const PARTS = '^main/(chain|channels|config|contacts|idempotency|p2p|relay|store|telemetry|wallet)/'
/** The hosts: entry points and what only they use. */
const HOSTS = '^main/(daemon|electron|hosts)/|^main/relay/cli\\.ts$|^main/chain/devnet/cli\\.ts$'

/* global module */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle of runtime imports: one of them points the wrong way (type-only imports are erased at build and may close a loop).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'shared-is-the-bottom',
      severity: 'error',
      comment: 'shared/ (the contract, address reading) is used by both processes: it knows no implementation.',
      from: { path: '^shared/' },
      to: { path: '^(main|renderer|preload)/' },
    },
    {
      name: 'kit-imports-only-shared',
      severity: 'error',
      comment: 'main/kit is the low layer: building blocks that know no part, engine or host.',
      from: { path: '^main/kit/' },
      to: { path: '^(main|renderer|preload)/', pathNot: '^main/kit/' },
    },
    {
      name: 'renderer-never-imports-main',
      severity: 'error',
      comment: 'The renderer reaches the engine only through the contract and a transport.',
      from: { path: '^(renderer|preload)/', pathNot: TEST },
      to: { path: '^main/' },
    },
    {
      name: 'parts-never-import-up',
      severity: 'error',
      comment: 'A part is composed by the engine and hosted by a host: it never imports either.',
      from: { path: PARTS, pathNot: `${TEST}|${HOSTS}` },
      to: { path: `^main/engine/|${HOSTS}` },
    },
    {
      name: 'engine-never-imports-hosts',
      severity: 'error',
      comment: 'The engine knows no host: the daemon and the Electron main both host it.',
      from: { path: '^main/engine/', pathNot: TEST },
      to: { path: HOSTS },
    },
    {
      name: 'hosts-never-import-each-other',
      severity: 'error',
      comment: 'What two hosts share lives below them (main/hosts, the engine, kit), not in one of them.',
      from: { path: '^main/(daemon|electron)/', pathNot: TEST },
      to: { path: '^main/(daemon|electron)/', pathNot: '^main/$1/' },
    },
    {
      name: 'parts-entered-through-index',
      severity: 'error',
      comment: 'Another part is entered through its index.ts (its public face), never a file inside it.',
      from: { path: '^main/([^/]+)/', pathNot: TEST },
      to: { path: '^main/[^/]+/', pathNot: ['^main/$1/', '^main/[^/]+/index\\.ts$', '^main/hosts/'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      exportsFields: ['exports'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
