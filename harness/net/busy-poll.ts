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
}

export class BusyPoll {
  private readonly budgetMs: number;
  private readonly maxMisses: number;
  private waiting = false;
  private armedAtMs = 0;
  private misses = 0;
  private scheduled = false;
  private stopped = false;

  constructor(options: BusyPollOptions) {
    this.budgetMs = options.budgetMs;
    this.maxMisses = options.maxMisses ?? 4;
  }

  /** Something the peer will answer has just been sent. */
  arm(): void {
    this.waiting = true;
    this.armedAtMs = performance.now();
    if (this.misses < this.maxMisses && !this.stopped) this.schedule();
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
  }

  /** The exchange is over: no more polling. */
  stop(): void {
    this.waiting = false;
    this.stopped = true;
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
