/** The `nftables` enforcer plugin: decisions as elements of Rempart's own nftables sets. */
import type { EnforcerPlugin } from "../plugin.ts";
import { pushEnforcer } from "../plugin.ts";
import { NftablesConfigSchema, type NftablesConfig } from "./config.ts";
import { NftablesEnforcer, spawnNft } from "./nftables-enforcer.ts";

export const nftablesPlugin = {
  id: "nftables",
  configSchema: NftablesConfigSchema,
  create(config, deps) {
    const enforcer = new NftablesEnforcer(config, spawnNft(config.command), deps.clock);
    const ports = config.ports === "all" ? "all ports" : `ports ${config.ports.join(", ")}`;
    return pushEnforcer(
      enforcer,
      deps,
      `nftables: table inet ${config.table}, hook ${config.hook} priority ${config.priority}, ${config.verdict} on ${ports} for ${config.actions.join(", ")}`,
      { batchMs: config.batch_ms },
    );
  },
} satisfies EnforcerPlugin<NftablesConfig>;

export { NftablesConfigSchema, type NftablesConfig } from "./config.ts";
export {
  coveringRanges,
  NftablesEnforcer,
  spawnNft,
  type NftablesEnforcerOptions,
  type NftRunner,
} from "./nftables-enforcer.ts";
export { nftDuration } from "./nft-script.ts";
