/**
 * AbuseIPDB's report categories (https://www.abuseipdb.com/categories): the numbers fail2ban's
 * `abuseipdb` action and most scripts already send, so Rempart keeps them rather than invent
 * its own. A set of categories travels as a 32-bit mask (bit n for category n).
 */
export const CATEGORIES: Readonly<Record<number, string>> = Object.freeze({
  1: "DNS Compromise",
  2: "DNS Poisoning",
  3: "Fraud Orders",
  4: "DDoS Attack",
  5: "FTP Brute-Force",
  6: "Ping of Death",
  7: "Phishing",
  8: "Fraud VoIP",
  9: "Open Proxy",
  10: "Web Spam",
  11: "Email Spam",
  12: "Blog Spam",
  13: "VPN IP",
  14: "Port Scan",
  15: "Hacking",
  16: "SQL Injection",
  17: "Spoofing",
  18: "Brute-Force",
  19: "Bad Web Bot",
  20: "Exploited Host",
  21: "Web App Attack",
  22: "SSH",
  23: "IoT Targeted",
});

export const MAX_CATEGORY = 23;

export const isCategory = (n: number): boolean =>
  Number.isInteger(n) && n >= 1 && n <= MAX_CATEGORY;

export function categoryMask(categories: readonly number[]): number {
  let mask = 0;
  for (const c of categories) if (isCategory(c)) mask |= 1 << c;
  return mask >>> 0;
}

export function maskCategories(mask: number): number[] {
  const out: number[] = [];
  for (let c = 1; c <= MAX_CATEGORY; c++) if ((mask & (1 << c)) !== 0) out.push(c);
  return out;
}
