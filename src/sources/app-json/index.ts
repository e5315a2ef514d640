export { JsonParserPlugin, MAX_EVENTS, parseAppEvent, parseIsoTime } from "./app-event.ts";
