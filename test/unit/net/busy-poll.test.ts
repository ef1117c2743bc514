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
});
