import { WeightgamesError } from '../../kernel/errors';
import * as fs from 'node:fs';

/**
 * The llama2.c tokenizer format (`tok512.bin`): int32 max_token_length, then for every token a
 * float32 score, an int32 byte length and the bytes (UTF-8). Decoding follows llama2.c: after BOS
 * a leading space is dropped, and `<0xHH>` pieces are raw bytes.
 */
export interface Tokenizer {
  readonly vocab: readonly string[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
  readonly decode: (previous: number, token: number) => string;
  readonly encode: (text: string, options?: { bos?: boolean }) => number[];
}

export class TokenizerError extends WeightgamesError {
  override readonly name = 'TokenizerError';
  readonly kind = 'input';
}

export function readTokenizer(file: string, vocabSize: number): Tokenizer {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 4) throw new TokenizerError(`${file} is too small for a llama2.c tokenizer`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const maxTokenLength = view.getInt32(0, true);
  const vocab: string[] = [];
  const scores = new Float32Array(vocabSize);
  let offset = 4;
  const utf8 = new TextDecoder('utf-8');
  for (let i = 0; i < vocabSize; i++) {
    if (offset + 8 > bytes.length) throw new TokenizerError(`${file}: ends at token ${i} of ${vocabSize}`);
    scores[i] = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || offset + length > bytes.length) throw new TokenizerError(`${file}: token ${i} has an invalid length ${length}`);
    vocab.push(utf8.decode(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  const index = new Map(vocab.map((piece, i) => [piece, i]));
  const decode = (previous: number, token: number): string => {
    let piece = vocab[token] ?? '';
    if (previous === 1 && piece.startsWith(' ')) piece = piece.slice(1);
    const raw = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    return raw === null ? piece : String.fromCharCode(parseInt(raw[1], 16));
  };
  /** llama2.c's encoder: a leading space ("dummy prefix"), one token per character (bytes as <0xHH>), then greedy merges by score. */
  const encode = (text: string, options: { bos?: boolean } = {}): number[] => {
    const tokens: number[] = [];
    if (options.bos ?? true) tokens.push(1);
    if (text.length === 0) return tokens;
    const pieces: number[] = [];
    const dummy = index.get(' ');
    if (dummy !== undefined) pieces.push(dummy);
    for (const ch of text) {
      const id = index.get(ch);
      if (id !== undefined) pieces.push(id);
      else for (const b of Buffer.from(ch, 'utf8')) pieces.push(index.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? 0);
    }
    for (;;) {
      let best = -Infinity;
      let at = -1;
      let merged = -1;
      for (let i = 0; i + 1 < pieces.length; i++) {
        const id = index.get(vocab[pieces[i]] + vocab[pieces[i + 1]]);
        if (id !== undefined && scores[id] > best) [best, at, merged] = [scores[id], i, id];
      }
      if (at < 0) break;
      pieces.splice(at, 2, merged);
    }
    return [...tokens, ...pieces];
  };
  return { vocab, scores, maxTokenLength, decode, encode };
}
