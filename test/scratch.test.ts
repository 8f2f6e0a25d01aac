import { KEEP_MS, ScratchSet } from '../src/numerics/tensor/scratch';

/** A job's buffers (src/numerics/tensor/scratch.ts) outlive it by KEEP_MS, unless the next job claims them first. */
describe('ScratchSet', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps the buffers (the same memory) for a job claiming them within KEEP_MS, and lets them go KEEP_MS after the last job', () => {
    const set = new ScratchSet(['a', 'b'] as const);
    const first = set.claim().a.floats(1024);
    set.claim().b.get(10);
    set.dropSoon();
    jest.advanceTimersByTime(KEEP_MS - 1);
    expect(set.held).toBe(4096 + 16);
    const again = set.claim().a.floats(1024); // the next job: the same buffer, no fresh pages
    expect(again.buffer).toBe(first.buffer);
    jest.advanceTimersByTime(10 * KEEP_MS); // claimed: the pending drop was cancelled
    expect(set.held).toBe(4096 + 16);
    set.dropSoon();
    jest.advanceTimersByTime(KEEP_MS);
    expect(set.held).toBe(0);
  });

  it('dropNow lets go at once; a buffer grows only when a bigger one is asked for', () => {
    const set = new ScratchSet(['a'] as const);
    const big = set.claim().a.get(100);
    expect(set.claim().a.get(50).buffer).toBe(big.buffer);
    expect(set.claim().a.get(200).buffer).not.toBe(big.buffer);
    set.dropSoon();
    set.dropNow();
    expect(set.held).toBe(0);
    jest.advanceTimersByTime(KEEP_MS); // nothing pending fires later
    expect(set.held).toBe(0);
  });

  it('adopt: memory touched elsewhere (a SharedArrayBuffer) is used where bigger than the buffer held; a bigger request still grows past it', () => {
    const set = new ScratchSet(['a'] as const);
    const memory = new SharedArrayBuffer(64);
    set.claim().a.get(16);
    set.buffers.a.adopt(memory);
    const view = set.claim().a.floats(16);
    expect(view.buffer).toBe(memory);
    set.buffers.a.adopt(new SharedArrayBuffer(32)); // smaller than held: ignored
    expect(set.claim().a.get(8).buffer).toBe(memory);
    expect(set.claim().a.get(65).buffer).not.toBe(memory);
    expect(set.held).toBe(72);
  });
});
