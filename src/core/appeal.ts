/** Where an appeal stands: waiting for an operator, or answered. */
export const APPEAL_STATUSES = ["open", "forgiven", "refused"] as const;
export type AppealStatus = (typeof APPEAL_STATUSES)[number];
