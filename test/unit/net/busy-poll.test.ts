import { describe, expect, it } from "vitest";
import { BusyPoll } from "../../../harness/net/busy-poll.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const immediate = () => new Promise((resolve) => setImmediate(resolve));

describe("BusyPoll", () => {
  it("keeps the loop polling while a wait is armed and within its budget, and stops when answered", async () => {
    const poll = new BusyPoll({ budgetMs: 50 });
    poll.arm();
    expect(poll.polling).toBe(true);
    await immediate();
    expect(poll.polling).toBe(true);
    poll.settle();
    await immediate();
    await immediate();
    expect(poll.polling).toBe(false);
  });

  it("stops polling when the budget runs out", async () => {
    const poll = new BusyPoll({ budgetMs: 5 });
    poll.arm();
    await sleep(20);
    expect(poll.polling).toBe(false);
  });

  it("only watches after maxMisses slow answers, and polls again after one fast answer", async () => {
    const poll = new BusyPoll({ budgetMs: 2, maxMisses: 2 });
    for (let i = 0; i < 2; i++) {
      poll.arm();
      await sleep(10);
      poll.settle();
    }
    poll.arm();
    expect(poll.polling).toBe(false);
    // An answer within the budget, unpolled: the peer is fast again.
    poll.settle();
    poll.arm();
    expect(poll.polling).toBe(true);
    poll.stop();
    await immediate();
    expect(poll.polling).toBe(false);
    poll.arm();
    expect(poll.polling).toBe(false);
  });

  /** Answers `count` waits at once, each while the poller is polling. */
  function answer(poll: BusyPoll, count: number, onEach?: () => void): void {
    for (let i = 0; i < count; i++) {
      poll.arm();
      onEach?.();
      poll.settle();
    }
  }

  it("sleeps through yieldFor waits when polling keeps being preempted, then polls again", async () => {
    let preemptions = 0;
    const poll = new BusyPoll({ budgetMs: 50, checkEvery: 8, yieldFor: 5, preemptions: () => preemptions });
    // A preemption in every polled wait: someone else wants this CPU.
    answer(poll, 8, () => preemptions++);
    expect(poll.yielding).toBe(true);
    await immediate(); // the answered waits' polls have run out
    poll.arm();
    expect(poll.polling).toBe(false);
    poll.settle();
    answer(poll, 4);
    expect(poll.yielding).toBe(false);
    poll.arm();
    expect(poll.polling).toBe(true);
    poll.stop();
  });

  it("keeps polling when few waits are preempted, and doubles the sleep while contention lasts", () => {
    let preemptions = 0;
    const poll = new BusyPoll({ budgetMs: 50, checkEvery: 8, yieldFor: 4, preemptions: () => preemptions });
    // Two preemptions in eight waits (a quarter) is not contention.
    answer(poll, 8, () => (preemptions += 0.25));
    expect(poll.yielding).toBe(false);
    const yieldLength = (): number => {
      answer(poll, 8, () => preemptions++);
      let slept = 0;
      while (poll.yielding) {
        answer(poll, 1);
        slept++;
      }
      return slept;
    };
    expect([yieldLength(), yieldLength(), yieldLength()]).toEqual([4, 8, 16]);
    for (let i = 0; i < 3; i++) yieldLength();
    expect(yieldLength()).toBe(64); // capped at 16 x yieldFor
    // An uncontended check resets it.
    answer(poll, 8);
    expect(yieldLength()).toBe(4);
    poll.stop();
  });

  it("counts the process's involuntary context switches by default", () => {
    const poll = new BusyPoll({ budgetMs: 50, checkEvery: 2 });
    answer(poll, 2);
    expect(poll.yielding).toBe(false);
    poll.stop();
  });
});
