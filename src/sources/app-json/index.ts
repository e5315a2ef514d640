export { JsonParserPlugin, parseAppEvent, parseIsoTime } from "./app-event.ts";
