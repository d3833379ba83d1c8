/**
 * The peak resident set size of this process since it started its program, in MB.
 *
 * Not process.resourceUsage().maxRSS: on Linux, getrusage's ru_maxrss of a child that a large process
 * forked and then exec'd keeps the high-water mark of the forked copy of the parent's memory (exec_mmap
 * saves the old mm's hiwater_rss into signal->maxrss, https://github.com/torvalds/linux/blob/master/fs/exec.c
 * ; getrusage(2), https://man7.org/linux/man-pages/man2/getrusage.2.html). A sweep worker spawned by the
 * benchmark process — which holds dynalite's 100,000-key table — reported ~480 MB that way while its own
 * RSS never passed ~170 MB. VmHWM of /proc/self/status is the high-water mark of the process's own memory
 * map, which exec made new ("Peak resident set size", https://man7.org/linux/man-pages/man5/proc_pid_status.5.html).
 * Where there is no /proc (macOS), maxRSS is all there is, and the source says so.
 */
import { readFileSync } from "node:fs";

export interface PeakRss {
  readonly mb: number;
  readonly source: "VmHWM" | "maxRSS";
}

export function peakRss(): PeakRss {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match?.[1] !== undefined) return { mb: Number(match[1]) / 1024, source: "VmHWM" };
  } catch {
    // No procfs: fall through.
  }
  // maxRSS is in kilobytes (https://nodejs.org/api/process.html#processresourceusage).
  return { mb: process.resourceUsage().maxRSS / 1024, source: "maxRSS" };
}
