/**
 * The part of WebAssembly this project uses (Node has it; this project's type libraries do not
 * declare it), and the sizes that go with it.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

/** WebAssembly here, or undefined (a runtime without it: callers use their JavaScript paths). */
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** WebAssembly's memory unit. */
export const WASM_PAGE = 65536;

/** n rounded up to a multiple of `to` (byte offsets within a kernel's memory). */
export const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;
