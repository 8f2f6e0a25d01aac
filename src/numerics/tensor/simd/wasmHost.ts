import { KEEP_MS } from '../scratch';
import { WasmFunction, wasmModule } from './wasmModule';
import { WASM_PAGE, WasmMemory, wasmApi as wasm } from './webAssembly';

/**
 * One kernel module's instance on this thread, with its memory (a kernel reads and writes only its
 * own memory, so callers copy or read their operands into it). The memory grows as asked and is let
 * go `KEEP_MS` after the last use (an unref'd timer, as the file jobs' ScratchSet), so a series of
 * jobs finds it touched and an idle process does not hold it.
 */
export class WasmHost {
  private module: object | null | undefined;
  private memory: WasmMemory | null = null;
  private exports: Record<string, unknown> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly functions: () => readonly WasmFunction[]) {}

  /** Whether this runtime runs the module (WebAssembly with SIMD): callers use their JavaScript loops where not. */
  get available(): boolean {
    return this.compiled() !== null;
  }

  /** The exports, over a memory of at least `bytes` bytes (its buffer is a new one after a growth: take views after this). */
  claim(bytes: number): { exports: Record<string, unknown>; buffer: ArrayBuffer } {
    const module = this.compiled();
    if (module === null) throw new Error('WasmHost: WebAssembly SIMD is not available here');
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.memory === null) {
      this.memory = new wasm!.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE)) });
      this.exports = new wasm!.Instance(module, { env: { memory: this.memory } }).exports;
    } else if (this.memory.buffer.byteLength < bytes) this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / WASM_PAGE));
    return { exports: this.exports!, buffer: this.memory.buffer };
  }

  /** The memory now (after a claim). */
  get buffer(): ArrayBuffer {
    if (this.memory === null) throw new Error('WasmHost: claim first');
    return this.memory.buffer;
  }

  /** Let the memory go after KEEP_MS unless claimed again. */
  dropSoon(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.memory = null;
      this.exports = null;
      this.timer = null;
    }, KEEP_MS);
    this.timer.unref();
  }

  private compiled(): object | null {
    if (this.module !== undefined) return this.module;
    const bytes = wasmModule(this.functions());
    this.module = wasm !== undefined && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
    return this.module;
  }
}
