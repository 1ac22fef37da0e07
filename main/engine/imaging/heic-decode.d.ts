// Types for the `heic-decode` npm package (CommonJS, ships none). Only what decode.ts uses.
declare module 'heic-decode' {
  interface HeicImageData {
    readonly width: number;
    readonly height: number;
    /** RGBA, 8 bits per channel, not premultiplied; libheif has already applied irot/imir. */
    readonly data: Uint8ClampedArray;
  }
  function decode(input: { buffer: Uint8Array | ArrayBuffer }): Promise<HeicImageData>;
  export default decode;
}
