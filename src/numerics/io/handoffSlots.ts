/**
 * Output slots shared between worker threads and the thread that owns an output file: a worker
 * copies a finished piece of output (a recovered block's tensors) into a free slot and answers
 * with where its pieces lie; the owner writes them to the file and frees the slot. So the page
 * cache's writes and the flushes run on the owning thread, which is otherwise idle once it has
 * hashed its input, instead of on the workers, whose arithmetic is the job's critical path.
 *
 * A slot is FREE, then FILLING (a worker claimed it), then FULL (its answer is out), then FREE
 * again once written. A worker that finds no free slot waits until one is freed; `abandon` (the
 * job failed) makes every claim fail, so that no worker waits for a write that will never come.
 */

const FREE = 0;
const FILLING = 1;
const FULL = 2;
/** The index, in `control`, of the counter bumped at every release and at `abandon` (what waiting workers wait on). */
const RELEASES = 0;
/** The index, in `control`, of the flag `abandon` sets. */
const ABANDONED = 1;

/** What a worker is handed (in its workerData) to attach the same slots. */
export interface HandoffShared {
  readonly data: SharedArrayBuffer;
  readonly state: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly slotBytes: number;
}

/** Where a worker left one piece: its place in the output file, its offset in the slot, its length. */
export type HandoffPiece = readonly [position: number, offset: number, byteLength: number];

/** A filled slot, as a worker answers it. */
export interface Handoff {
  readonly slot: number;
  readonly pieces: readonly HandoffPiece[];
}

export class HandoffAbandoned extends Error {
  override readonly name = 'HandoffAbandoned';
}

export class HandoffSlots {
  private readonly data: Uint8Array;
  private readonly state: Int32Array;
  private readonly control: Int32Array;

  private constructor(readonly shared: HandoffShared) {
    this.data = new Uint8Array(shared.data);
    this.state = new Int32Array(shared.state);
    this.control = new Int32Array(shared.control);
  }

  /** `slots` slots of `slotBytes` each (their pages are touched only as they are filled). */
  static create(slots: number, slotBytes: number): HandoffSlots {
    if (!(Number.isSafeInteger(slots) && slots > 0 && Number.isSafeInteger(slotBytes) && slotBytes > 0)) throw new RangeError(`HandoffSlots: ${slots} slots of ${slotBytes} bytes`);
    return new HandoffSlots({ data: new SharedArrayBuffer(slots * slotBytes), state: new SharedArrayBuffer(slots * 4), control: new SharedArrayBuffer(8), slotBytes });
  }

  /** The same slots, in another thread. */
  static attach(shared: HandoffShared): HandoffSlots {
    return new HandoffSlots(shared);
  }

  get slots(): number {
    return this.state.length;
  }

  /**
   * Worker side: claim a free slot (waiting for one if need be), copy `pieces` into it one after
   * another, and answer where they lie. Throws HandoffAbandoned once the owner has abandoned the
   * job, and RangeError where the pieces do not fit one slot (the caller sized it too small).
   */
  fill(pieces: ReadonlyArray<{ readonly position: number; readonly bytes: Uint8Array }>): Handoff {
    const total = pieces.reduce((sum, piece) => sum + piece.bytes.length, 0);
    if (total > this.shared.slotBytes) throw new RangeError(`HandoffSlots: ${total} bytes do not fit a slot of ${this.shared.slotBytes}`);
    const slot = this.claim();
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

  /** Owner side: the slot is written; a waiting worker may take it. */
  release(handoff: Handoff): void {
    Atomics.store(this.state, handoff.slot, FREE);
    Atomics.add(this.control, RELEASES, 1);
    Atomics.notify(this.control, RELEASES);
  }

  /** Owner side: the job failed; every claim from now on throws HandoffAbandoned (waiting workers wake to it). */
  abandon(): void {
    Atomics.store(this.control, ABANDONED, 1);
    Atomics.add(this.control, RELEASES, 1);
    Atomics.notify(this.control, RELEASES);
  }

  private claim(): number {
    for (;;) {
      const seen = Atomics.load(this.control, RELEASES);
      if (Atomics.load(this.control, ABANDONED) === 1) throw new HandoffAbandoned('the output was abandoned (the job failed elsewhere)');
      for (let slot = 0; slot < this.state.length; slot++) if (Atomics.compareExchange(this.state, slot, FREE, FILLING) === FREE) return slot;
      Atomics.wait(this.control, RELEASES, seen);
    }
  }
}
