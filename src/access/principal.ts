import type { Role } from './tokens.js';

/** Who made a request: the token that authenticated it. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
}
