// Past conversations: New chat keeps the current one here, and any of them can be reopened (no vscode import).
// Stored through a ConversationStore of its own (workspace state in the extension), each conversation in the
// chat's own storage format, routing included within a smaller budget than the open conversation's.
import { decodeConversation, encodeConversation, type StoredConversation } from './codec';
import type { ConversationStore } from './controller';
import type { ChatTurn } from '../protocol';

export interface PastConversation {
  id: string;
  /** The first user message, shortened. */
  title: string;
  savedAt: string;
  turns: number;
}

interface StoredHistory {
  format: 1;
  conversations: (PastConversation & { data: StoredConversation })[];
}

export const MAX_PAST_CONVERSATIONS = 20;
const ROUTING_BYTES_PER_CONVERSATION = 512 * 1024;

export function conversationTitle(turns: ChatTurn[]): string {
  const first = turns.find((t) => t.role === 'user');
  const text = (first?.display || first?.content || 'Conversation').replace(/\s+/g, ' ').trim();
  return text.length > 60 ? text.slice(0, 59) + '…' : text;
}

export class ConversationHistory {
  constructor(
    private readonly store: ConversationStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private read(): StoredHistory {
    const data = this.store.load() as Partial<StoredHistory> | undefined;
    return data && data.format === 1 && Array.isArray(data.conversations) ? { format: 1, conversations: data.conversations } : { format: 1, conversations: [] };
  }

  /** Newest first. */
  list(): PastConversation[] {
    return this.read().conversations.map(({ data: _data, ...meta }) => meta);
  }

  /** Keeps a conversation (nothing for an empty one); the oldest beyond the limit are dropped. */
  async add(turns: ChatTurn[], id: string): Promise<void> {
    if (!turns.some((t) => t.role === 'user')) return;
    const h = this.read();
    const entry = { id, title: conversationTitle(turns), savedAt: this.now().toISOString(), turns: turns.length, data: encodeConversation(turns, ROUTING_BYTES_PER_CONVERSATION) };
    h.conversations = [entry, ...h.conversations.filter((c) => c.id !== id)].slice(0, MAX_PAST_CONVERSATIONS);
    await this.store.save(h);
  }

  /** Takes a conversation out of the history and returns its turns (undefined when it is gone). */
  async take(id: string): Promise<ChatTurn[] | undefined> {
    const h = this.read();
    const found = h.conversations.find((c) => c.id === id);
    if (!found) return undefined;
    h.conversations = h.conversations.filter((c) => c.id !== id);
    await this.store.save(h);
    return decodeConversation(found.data);
  }
}
