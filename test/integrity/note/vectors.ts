import { vector } from '../../helpers.js';

/** test/vectors/c2sp-signed-note.json: published vectors (Go x/mod note, c2sp.org, formats). */
export interface NoteVectors {
  readonly go: {
    readonly peterVkey: string;
    readonly peterSkey: string;
    readonly enochVkey: string;
    readonly text: string;
    readonly peterSig: string;
    readonly enochSig: string;
    readonly signed: string;
    readonly badVkeys: readonly string[];
  };
  readonly c2sp: {
    readonly vkeyExample: string;
    readonly vkeyExampleNote: string;
    readonly formatExampleNote: string;
    readonly checkpointExample: string;
    readonly cosignedExample: string;
    readonly cosignedExampleKeyId: string;
    readonly cosignedExampleTimestamp: number;
    readonly cosignatureMessageExample: string;
    readonly addCheckpointExample: string;
  };
  readonly formats: {
    readonly cosignerVkeys: readonly string[];
    readonly ed25519Vkeys: readonly string[];
    readonly badVkeys: readonly string[];
    readonly cosignatureTimestamp: { readonly base64: string; readonly timestamp: number };
    readonly notACosignature: string;
  };
}

export const V = vector('c2sp-signed-note.json') as NoteVectors;
