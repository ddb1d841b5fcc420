// Key naming: every key of an identifier shares one hash tag, so a check is one script on one
// cluster slot; the shared keys (controls, boards, streams, presence) sit under the prefix.
import { RateLimitConfigError } from '../../errors';

/**
 * Encodes an identifier for use inside a hash tag: `%`, `{` and `}` are percent-encoded, so no
 * identifier can end the tag early, and two identifiers never share an encoding.
 */
const ESCAPED = /[%{}]/;
export function encodeIdentifier(identifier: string): string {
  return ESCAPED.test(identifier) ? identifier.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : identifier;
}

/** Keys of one identifier: its state hash, its reservation index, its last denials, and the list of a sliding-log limit. */
export interface IdentifierKeyNames {
  readonly state: string;
  readonly reservations: string;
  readonly denials: string;
  log(limit: string): string;
}

/**
 * Made on every call, which uses one or two of them: the others are built only when read, and
 * the methods are shared.
 */
class IdentifierKeys implements IdentifierKeyNames {
  constructor(readonly state: string) {}
  get reservations() {
    return `${this.state}:res`;
  }
  get denials() {
    return `${this.state}:dn`;
  }
  log(limit: string) {
    return `${this.state}:log3:${limit}`;
  }
}

export function keyNames(prefix: string) {
  if (!/^[^{}\s]{1,64}$/.test(prefix)) {
    throw new RateLimitConfigError(`prefix: '${prefix}' must be 1 to 64 characters without spaces, '{' or '}'`);
  }
  const identifier = (id: string): IdentifierKeyNames => new IdentifierKeys(`${prefix}:{${encodeIdentifier(id)}}`);
  return {
    identifier,
    control: `${prefix}:control`,
    channel: `${prefix}:control`,
    presence: `${prefix}:presence`,
    documents: `${prefix}:documents`,
    board: (board: string) => `${prefix}:board:${board}`,
    stream: (stream: string) => `${prefix}:stream:${stream}`,
    /** One identifier's own history of a stream: a capped list (a stream key costs about 4.8 KB even with one entry, a list about 0.3 KB). */
    history: (stream: string, id: string) => `${identifier(id).state}:hist:${stream}`,
  };
}

export type KeyNames = ReturnType<typeof keyNames>;
