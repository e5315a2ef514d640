/** Where a report to a network's abuse desk stands. */
export const ABUSE_REPORT_STATUSES = ["pending", "sent", "no-contact", "failed"] as const;
export type AbuseReportStatus = (typeof ABUSE_REPORT_STATUSES)[number];
