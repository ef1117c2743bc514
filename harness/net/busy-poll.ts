// Waits for a fast peer's answer by polling the event loop instead of sleeping in it.
//
// A request/response exchange with one request in flight (a TFTP lock-step transfer) is a
// chain of round trips. When the server sleeps in epoll_wait between its answer and the peer's
// next packet, every packet first has to wake it: on an idle CPU that is a wake-up from a
// halt, and in a virtual machine a halted vCPU the hypervisor has to schedule again, which can
// cost more than the server's work on the packet. While a wait is armed, a pending
// setImmediate keeps libuv's poll phase at a zero timeout, so the packet is taken by the next
// epoll_wait(0) and the process never goes to sleep (the idea of Linux's SO_BUSY_POLL, at the
// level of the event loop). Other sockets and timers on the loop are served as usual
// meanwhile: nothing blocks.
//
// Polling is bounded so that a slow peer costs next to nothing: each wait polls for at most
// `budgetMs`, and after `maxMisses` waits in a row that ran out (firmware in an emulated
// guest answers in milliseconds) the poller only watches: it polls again as soon as one
// answer arrives within the budget by itself.
//
// Polling only pays on a CPU nobody else wants. When the peer (or anything else) shares the
// poller's CPU, every spin keeps it from running: the scheduler preempts the poller once per
// exchange, and the peer answers later than it would have to a sleeping server. So every
// `checkEvery` polled waits the poller reads the process's involuntary context switches; when
// more than a quarter of those waits were preempted, it sleeps through the next `yieldFor`
// waits and then tries polling again (twice as long a sleep each time it is still preempted,
// up to 16 times `yieldFor`). Measured with curl pinned (taskset) to the server's CPU,
// lock-step at blksize 512: 14.5 MiB/s polling (31 953 preemptions in 32 768 packets), 23.4
// sleeping; on separate CPUs polling gave 15-21 MiB/s with about 1 % of waits preempted, and
// sleeping 7.5. With the check, on curl's CPU: 18-23.5 MiB/s (bench/tftp-perf.mjs: 21.8, tftpd-hpa 25.8).
//
// Measured (bench/tftp-perf.mjs, curl lock-step, back-to-back runs without and with it, 2
// vCPUs): 0.69x -> 0.80x tftpd-hpa at blksize 512, 0.64x -> 0.82x at 1468. Tried on the NFS
// transport for nfs-cp's one READ in flight, it gained nothing measurable: there the client
// and the server's copies keep both CPUs busy, and a polling loop only takes a CPU from them.
import { performance } from "node:perf_hooks";

export interface BusyPollOptions {
  /** Longest a wait polls. */
  budgetMs: number;
  /** Waits in a row that may run out before polling stops. */
  maxMisses?: number;
  /** Polled waits between two readings of `preemptions` (default 64). */
  checkEvery?: number;
  /** Waits slept through once polling was found to be preempted (default 1024). */
  yieldFor?: number;
  /** A monotonic count of the process's involuntary context switches (injectable for tests). */
  preemptions?: () => number;
}

const involuntaryContextSwitches = (): number => process.resourceUsage().involuntaryContextSwitches;

export class BusyPoll {
  private readonly budgetMs: number;
  private readonly maxMisses: number;
  private waiting = false;
  private armedAtMs = 0;
  private misses = 0;
  private scheduled = false;
  private stopped = false;
  private readonly checkEvery: number;
  private readonly yieldFor: number;
  private readonly preemptions: () => number;
  /** Whether the wait in progress is being polled (counts towards the contention check). */
  private polledWait = false;
  /** Polled waits answered since the check period began, and the preemption count then. */
  private periodWaits = 0;
  private periodStart = 0;
  /** Waits left to sleep through after contention was seen. */
  private yieldWaits = 0;
  /** How long the next yield lasts: doubles while checks keep finding contention. */
  private nextYield: number;

  constructor(options: BusyPollOptions) {
    this.budgetMs = options.budgetMs;
    this.maxMisses = options.maxMisses ?? 4;
    this.checkEvery = options.checkEvery ?? 64;
    this.yieldFor = options.yieldFor ?? 1024;
    this.preemptions = options.preemptions ?? involuntaryContextSwitches;
    this.nextYield = this.yieldFor;
  }

  /** Something the peer will answer has just been sent. */
  arm(): void {
    this.waiting = true;
    this.armedAtMs = performance.now();
    this.polledWait = this.yieldWaits === 0 && this.misses < this.maxMisses && !this.stopped;
    if (!this.polledWait) {
      // A check period covers polled waits only: preemptions while sleeping say nothing.
      this.periodWaits = 0;
      return;
    }
    if (this.periodWaits === 0) this.periodStart = this.preemptions();
    this.schedule();
  }

  /** performance.now() of the last arm(): when the last packet to be answered left. */
  get armedAt(): number {
    return this.armedAtMs;
  }

  /** The peer's answer arrived. */
  settle(): void {
    if (!this.waiting) return;
    this.waiting = false;
    if (performance.now() - this.armedAtMs <= this.budgetMs) this.misses = 0;
    if (this.yieldWaits > 0) this.yieldWaits--;
    else if (this.polledWait && ++this.periodWaits >= this.checkEvery) this.checkContention();
  }

  /** Ends a check period: sleep for a while if polling kept being preempted. */
  private checkContention(): void {
    const preempted = this.preemptions() - this.periodStart;
    this.periodWaits = 0;
    if (preempted * 4 <= this.checkEvery) {
      this.nextYield = this.yieldFor;
      return;
    }
    this.yieldWaits = this.nextYield;
    this.nextYield = Math.min(this.nextYield * 2, this.yieldFor * 16);
  }

  /** The exchange is over: no more polling. */
  stop(): void {
    this.waiting = false;
    this.stopped = true;
  }

  /** Whether polling is suspended because it was being preempted (for tests). */
  get yielding(): boolean {
    return this.yieldWaits > 0;
  }

  /** Whether the loop is being kept awake right now (for tests). */
  get polling(): boolean {
    return this.scheduled;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.poll);
  }

  private readonly poll = (): void => {
    this.scheduled = false;
    if (!this.waiting) return;
    if (performance.now() - this.armedAtMs < this.budgetMs) this.schedule();
    else this.misses++;
  };
}
