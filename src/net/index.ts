export * from "./address-words.ts";
export * from "./asn.ts";
export * from "./ip.ts";
export * from "./prefix-map.ts";
