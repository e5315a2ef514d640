import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./0001-initial.ts";
import { accounts } from "./0002-accounts.ts";
import { webhookPending } from "./0003-webhook-pending.ts";
import { bouncerPulls } from "./0004-bouncer-pulls.ts";
import { decisionsOrder } from "./0005-decisions-order.ts";
import { reports } from "./0006-reports.ts";
import { appeals } from "./0007-appeals.ts";
import { abuseReports } from "./0008-abuse-reports.ts";

/**
 * Every migration, in order. Names are never renamed or reused: they are recorded in the
 * database. Add a new file and a new entry; never edit one that has shipped.
 */
const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  "0001-initial": initial,
  "0002-accounts": accounts,
  "0003-webhook-pending": webhookPending,
  "0004-bouncer-pulls": bouncerPulls,
  "0005-decisions-order": decisionsOrder,
  "0006-reports": reports,
  "0007-appeals": appeals,
  "0008-abuse-reports": abuseReports,
});

// In code rather than read from a folder: no dynamic import of paths, and the list ships
// with the build.
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};
