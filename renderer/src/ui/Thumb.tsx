/**
 * A photo's thumbnail that asks the server only when the page's thumbnail gate lets it
 * (ui/thumb-gate.ts): near the screen, a few at a time, newest view first, and gives its request
 * up when it leaves the page.
 */
import { useLayoutEffect, useRef, type ImgHTMLAttributes } from 'react';
import { mediaUrl, transport } from '../platform.js';
import { thumbGate } from './thumb-gate.js';

type Props = Omit<ImgHTMLAttributes<HTMLImageElement>, 'src' | 'loading'> & { imageId: number; alt: string };

export function Thumb({ imageId, ...img }: Props) {
  const ref = useRef<HTMLImageElement>(null);
  const url = mediaUrl('thumb', imageId);
  useLayoutEffect(() => thumbGate(transport === 'ipc').admit(ref.current!, url), [url]);
  return <img ref={ref} decoding="async" draggable={false} {...img} />;
}
