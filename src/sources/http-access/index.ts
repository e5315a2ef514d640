export {
  ApacheParserPlugin,
  compileLogFormat,
  looksLikeAccessLog,
  NginxParserPlugin,
} from "./http-access-parser.ts";
