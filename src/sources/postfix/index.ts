export { createPostfixParser, PostfixParser, type PostfixParserOptions } from "./postfix-parser.ts";
