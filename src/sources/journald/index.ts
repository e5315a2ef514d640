export { parseJournalEntry, type JournalRecord } from "./journal-entry.ts";
export {
  JOURNALD_PATH,
  JournaldSource,
  type JournalBatch,
  type JournalBatchHandler,
  type JournaldNotice,
  type JournaldSourceOptions,
} from "./journald-source.ts";
