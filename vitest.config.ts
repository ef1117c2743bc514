import { defineConfig } from "vitest/config";

// Unit tests are pure and fast; integration tests boot real guests (TCG, ~1 core each),
// so they run one file at a time and get generous timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          globalSetup: ["test/setup/ensure-host.ts"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/setup/ensure-host.ts", "test/setup/build-cli.ts"],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
