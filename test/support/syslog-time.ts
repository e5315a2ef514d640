/** A BSD syslog time stamp in the local zone, as daemons' lines carry them: `Dec  8 03:20:01`. */
export function syslogTime(t: Date): string {
  const month = t.toLocaleString("en-US", { month: "short" });
  const day = String(t.getDate()).padStart(2, " ");
  const time = [t.getHours(), t.getMinutes(), t.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
  return `${month} ${day} ${time}`;
}
