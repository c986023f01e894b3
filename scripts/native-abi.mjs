// What a compiled Node addon (`.node`) was built for, read from its bytes, never by loading
// it (loading one built for another runtime fails, or worse, crashes the loader).
//
// A non-N-API addon such as better-sqlite3 exports its entry point under a name that carries
// the ABI it was compiled against: `node_register_module_v<NODE_MODULE_VERSION>` (node.h's
// NODE_MODULE_INITIALIZER). It is in the dynamic symbol table of an ELF file, the export
// table of a PE file and the symbol table of a Mach-O file (with a leading `_`), so one
// search of the bytes finds it in each. The file format and CPU come from the header.
//
//   node scripts/native-abi.mjs <file.node>...   prints one line per file
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const MARKER = Buffer.from('node_register_module_v', 'latin1')

/** ELF e_machine, Mach-O cputype and PE Machine values, as Node names the architectures. */
const ELF_ARCH = new Map([
  [0x03, 'ia32'],
  [0x28, 'arm'],
  [0x3e, 'x64'],
  [0xb7, 'arm64'],
])
const MACHO_ARCH = new Map([
  [0x01000007, 'x64'],
  [0x0100000c, 'arm64'],
  [0x00000007, 'ia32'],
])
const PE_ARCH = new Map([
  [0x014c, 'ia32'],
  [0x8664, 'x64'],
  [0xaa64, 'arm64'],
])

/** The platform whose loader takes each format. */
export const PLATFORM_FORMAT = { linux: 'elf', darwin: 'mach-o', win32: 'pe' }

/**
 * @param {Buffer} bytes
 * @returns {{ format: 'elf' | 'mach-o' | 'pe' | 'unknown', arch: string | null }}
 */
function header(bytes) {
  if (bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46) {
    const le = bytes[5] !== 2
    const machine = le ? bytes.readUInt16LE(18) : bytes.readUInt16BE(18)
    return { format: 'elf', arch: ELF_ARCH.get(machine) ?? null }
  }
  if (bytes.length >= 8) {
    const magic = bytes.readUInt32LE(0)
    if (magic === 0xfeedface || magic === 0xfeedfacf) return { format: 'mach-o', arch: MACHO_ARCH.get(bytes.readUInt32LE(4)) ?? null }
    // A universal (fat) file holds several CPUs; it is Mach-O, the CPU is not one.
    if (bytes.readUInt32BE(0) === 0xcafebabe) return { format: 'mach-o', arch: 'universal' }
  }
  if (bytes.length >= 0x40 && bytes.toString('latin1', 0, 2) === 'MZ') {
    const pe = bytes.readUInt32LE(0x3c)
    if (pe + 6 <= bytes.length && bytes.toString('latin1', pe, pe + 4) === 'PE\0\0') return { format: 'pe', arch: PE_ARCH.get(bytes.readUInt16LE(pe + 4)) ?? null }
  }
  return { format: 'unknown', arch: null }
}

/**
 * The ABIs named by `node_register_module_v<N>` in the bytes (one for a normal addon).
 * @param {Buffer} bytes
 * @returns {number[]}
 */
function registeredAbis(bytes) {
  const found = new Set()
  for (let at = bytes.indexOf(MARKER); at !== -1; at = bytes.indexOf(MARKER, at + 1)) {
    let end = at + MARKER.length
    while (end < bytes.length && bytes[end] >= 0x30 && bytes[end] <= 0x39) end++
    if (end > at + MARKER.length) found.add(Number(bytes.toString('latin1', at + MARKER.length, end)))
  }
  return [...found]
}

/**
 * What a `.node` file was built for.
 * @param {string} file
 * @returns {{ file: string, format: 'elf' | 'mach-o' | 'pe' | 'unknown', arch: string | null, abi: number | null }}
 *   `abi` is null for an N-API addon (no per-ABI entry point) or a file that is not an addon.
 */
export function readNativeModule(file) {
  const bytes = readFileSync(file)
  const abis = registeredAbis(bytes)
  if (abis.length > 1) throw new Error(`${file} names several Node ABIs (${abis.join(', ')}); it is not one addon`)
  return { file, ...header(bytes), abi: abis[0] ?? null }
}

/**
 * The NODE_MODULE_VERSION a `.node` file was built for, or null when it names none.
 * @param {string} file
 * @returns {number | null}
 */
export function readNodeAbi(file) {
  return readNativeModule(file).abi
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2)
  if (files.length === 0) {
    process.stderr.write('usage: node scripts/native-abi.mjs <file.node>...\n')
    process.exitCode = 2
  }
  for (const file of files) {
    try {
      const m = readNativeModule(file)
      process.stdout.write(`${file}: ${m.abi === null ? 'no Node ABI (N-API or not an addon)' : `ABI ${m.abi}`}, ${m.format}${m.arch ? ` ${m.arch}` : ''}\n`)
    } catch (err) {
      process.stderr.write(`${file}: ${err.message}\n`)
      process.exitCode = 1
    }
  }
}
