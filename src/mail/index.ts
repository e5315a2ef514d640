export {
  heldFor,
  parseQueue,
  postsuper,
  readQueue,
  type PostfixTools,
  type QueuedMessage,
} from "./postfix-queue.ts";
export { QueueWatch, type QueueSnapshot, type QueueWatchOptions } from "./queue-watch.ts";
