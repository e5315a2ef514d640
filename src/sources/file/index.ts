export {
  FileSource,
  type FileSourceNotice,
  type FileSourceOptions,
  type FileSourceStats,
} from "./file-source.ts";
export {
  readFileLines,
  type BatchHandler,
  type FileBatch,
  type ReadFileLinesOptions,
  type ReadFileLinesResult,
} from "./read-file-lines.ts";
export { LineSplitter, type LineSink, type LineSplitterOptions } from "./line-splitter.ts";
