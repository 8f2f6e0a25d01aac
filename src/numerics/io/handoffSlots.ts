/**
 * Output slots shared between worker threads and the thread that owns an output file: a worker
 * copies a finished piece of output (a recovered block's tensors) into a free slot and answers
 * with where its pieces lie; the owner writes them to the file and frees the slot. So the page
 * cache's writes and the flushes run on the owning thread, which is otherwise idle once it has
 * hashed its input, instead of on the workers, whose arithmetic is the job's critical path.
 *
 * A slot is FREE, then FILLING (a worker claimed it), then FULL (its answer is out), then FREE
 * again once written. A worker never waits for a slot: finding none free (the owner busy with work
 * of its own), it writes its piece itself — so no worker stalls on the owner, and no order of
 * answers and releases can deadlock the two.
 */

const FREE = 0;
const FILLING = 1;
const FULL = 2;

/** What a worker is handed (in its workerData) to attach the same slots. */
export interface HandoffShared {
  readonly data: SharedArrayBuffer;
  readonly state: SharedArrayBuffer;
  readonly slotBytes: number;
}

/** Where a worker left one piece: its place in the output file, its offset in the slot, its length. */
export type HandoffPiece = readonly [position: number, offset: number, byteLength: number];

/** A filled slot, as a worker answers it. */
export interface Handoff {
  readonly slot: number;
  readonly pieces: readonly HandoffPiece[];
}

export class HandoffSlots {
  private readonly data: Uint8Array;
  private readonly state: Int32Array;

  private constructor(readonly shared: HandoffShared) {
    this.data = new Uint8Array(shared.data);
    this.state = new Int32Array(shared.state);
  }

  /** `slots` slots of `slotBytes` each (their pages touched only by `prefault` or as they are filled). */
  static create(slots: number, slotBytes: number): HandoffSlots {
    if (!(Number.isSafeInteger(slots) && slots > 0 && Number.isSafeInteger(slotBytes) && slotBytes > 0)) throw new RangeError(`HandoffSlots: ${slots} slots of ${slotBytes} bytes`);
    return new HandoffSlots({ data: new SharedArrayBuffer(slots * slotBytes), state: new SharedArrayBuffer(slots * 4), slotBytes });
  }

  /** The same slots, in another thread. */
  static attach(shared: HandoffShared): HandoffSlots {
    return new HandoffSlots(shared);
  }

  /**
   * Owner side: write every page of the slots once (zeros), so that the workers' first copies do not
   * fault them in on the critical path (a fresh page costs more than its copy on this kind of
   * machine); meant for the owner's idle time, e.g. while the workers start.
   */
  prefault(): void {
    this.data.fill(0);
  }

  /**
   * Worker side: claim a free slot, copy `pieces` into it one after another, and answer where they
   * lie; null where every slot is taken (the worker then writes them itself). RangeError where the
   * pieces do not fit one slot (the owner sized it too small).
   */
  tryFill(pieces: ReadonlyArray<{ readonly position: number; readonly bytes: Uint8Array }>): Handoff | null {
    const total = pieces.reduce((sum, piece) => sum + piece.bytes.length, 0);
    if (total > this.shared.slotBytes) throw new RangeError(`HandoffSlots: ${total} bytes do not fit a slot of ${this.shared.slotBytes}`);
    let slot = 0;
    while (slot < this.state.length && Atomics.compareExchange(this.state, slot, FREE, FILLING) !== FREE) slot++;
    if (slot === this.state.length) return null;
    const base = slot * this.shared.slotBytes;
    const placed: HandoffPiece[] = [];
    let offset = 0;
    for (const { position, bytes } of pieces) {
      this.data.set(bytes, base + offset);
      placed.push([position, offset, bytes.length]);
      offset += bytes.length;
    }
    Atomics.store(this.state, slot, FULL);
    return { slot, pieces: placed };
  }

  /** Owner side: the bytes of one piece of a filled slot (a view: valid until `release`). */
  view(handoff: Handoff, piece: HandoffPiece): Uint8Array {
    const [, offset, byteLength] = piece;
    if (Atomics.load(this.state, handoff.slot) !== FULL) throw new Error(`HandoffSlots: slot ${handoff.slot} is not full`);
    const base = handoff.slot * this.shared.slotBytes;
    return this.data.subarray(base + offset, base + offset + byteLength);
  }

  /** Owner side: the slot is written; a worker may take it again. */
  release(handoff: Handoff): void {
    Atomics.store(this.state, handoff.slot, FREE);
  }
}
