/**
 * What `clipscope --help` says of each command. The command modules declare themselves with
 * these words; the entry point lists them without loading the modules (see cli/index.ts).
 */
export const COMMAND_INFO = {
  encode: { args: '<images...>', description: 'encode images: activations at one layer, the image embedding and the SAE latents of every token' },
  activations: { args: '<image>', description: "write one image's residual-stream activations at a layer as float32 [tokens, width] .npy" },
  models: { args: '', description: 'install, list, verify and inspect CLIP models and SAEs' },
  index: { args: '[folders...]', description: 'index photo folders into a library: SAE latents of every photo, incrementally (re-runs resume and only add what is missing)' },
  folders: { args: '', description: "a library's photo folders: add, remove, list; and the files that could not be indexed" },
  gallery: { args: '<feature>', description: "the library's images where a feature fires, strongest first" },
  image: { args: '<file>', description: "one image's stored latents (every token), features and reconstruction error, read from the library" },
  metrics: { args: '', description: "the model card's reconstruction table (MSE, EV, dead features, L0, per-position MSE) on the library's photos" },
  query: { args: '', description: 'images by several features: all of, any of, none of, with minimum activations, in a region of the patch grid, by folder and date' },
  features: { args: '', description: "the SAE's features in this library: search, statistics, similar features, your labels and notes" },
  steer: { args: '<image>', description: "edit SAE features on a photo's tokens at a layer, run the rest of CLIP, and show how its embedding (and nearest library photos) change" },
  serve: { args: '', description: 'the desktop app in your browser: serves it on 127.0.0.1 only, behind a per-launch token (Ctrl-C stops)' },
} as const;

export type CommandName = keyof typeof COMMAND_INFO;
