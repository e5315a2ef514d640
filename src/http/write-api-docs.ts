// Prints docs/api.md: `node src/http/write-api-docs.ts > docs/api.md`.
import { renderApiDocs } from "./api-docs.ts";

process.stdout.write(renderApiDocs());
