import { Text } from 'ink';
import { clean } from '../format/text.js';

/** A run of text with one style. */
export interface Segment {
  text: string;
  color?: string | undefined;
  bold?: boolean;
  inverse?: boolean;
  underline?: boolean;
}

/** Cuts segments so that together they are at most `width` characters (the last cut one ends in an ellipsis). */
export function fitSegments(segments: readonly Segment[], width: number): Segment[] {
  const out: Segment[] = [];
  let left = width;
  for (const seg of segments) {
    if (left <= 0) break;
    const text = clean(seg.text);
    if (text.length <= left) {
      out.push({ ...seg, text });
      left -= text.length;
    } else {
      out.push({ ...seg, text: left > 1 ? `${text.slice(0, left - 1)}…` : '…' });
      left = 0;
    }
  }
  return out;
}

/** One screen line made of styled segments, never wider than `width` (so it never wraps). */
export function Line({ segments, width }: { segments: readonly Segment[]; width: number }) {
  const parts = fitSegments(segments, width);
  return (
    <Text wrap="truncate">
      {parts.length === 0 ? ' ' : parts.map((p, i) => (
        <Text key={i} color={p.color} bold={p.bold ?? false} inverse={p.inverse ?? false} underline={p.underline ?? false}>
          {p.text}
        </Text>
      ))}
    </Text>
  );
}
