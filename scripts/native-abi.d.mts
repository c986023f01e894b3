// Types of native-abi.mjs, for the TypeScript tests that use it.
export interface NativeModuleInfo {
  file: string
  format: 'elf' | 'mach-o' | 'pe' | 'unknown'
  /** Node's name for the CPU (x64, arm64, ia32, arm), 'universal' for a fat Mach-O, null when unknown. */
  arch: string | null
  /** NODE_MODULE_VERSION from `node_register_module_v<N>`; null for N-API addons and non-addons. */
  abi: number | null
}
export const PLATFORM_FORMAT: { linux: 'elf'; darwin: 'mach-o'; win32: 'pe' }
export function readNativeModule(file: string): NativeModuleInfo
export function readNodeAbi(file: string): number | null
