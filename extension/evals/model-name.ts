// A run's model as people read it. Runs store each model's identity as a value (run.json `identities`, progress
// events); runs written before that show their stored key as it is: it is never parsed back.
import { formatModelName } from '../format';
import type { ModelIdentity } from '../engine/types';

/** The model of run key `key`: its identity's short name, or the key as stored where the run has no identity for it. */
export function runModelName(key: string, identity: ModelIdentity | undefined): string {
  return identity ? formatModelName(identity) : key;
}
