export { createDovecotParser, DovecotParser } from "./dovecot-parser.ts";
