export {
  AsDatabase,
  PACKAGE_AS_FILES,
  type AsDatabaseOptions,
  type AsLoadReport,
  type AsReloadOutcome,
} from "./as-database.ts";
export {
  HOSTING_ASNS_FILE,
  HostingClassifier,
  hostingByName,
  parseHostingAsns,
  readHostingAsns,
} from "./hosting.ts";
export {
  AsConfigSchema,
  NetworksConfigSchema,
  TorConfigSchema,
  type AsConfig,
  type NetworksConfig,
  type TorConfig,
} from "./networks-config.ts";
export type { Periodic } from "./periodic.ts";
export {
  TorExits,
  type TorExitsOptions,
  type TorFormat,
  type TorRefreshReport,
} from "./tor-exits.ts";
