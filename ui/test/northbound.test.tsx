import { cleanup, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { NorthboundView } from "../src/bindings/ipc";
import { describeBacklog, NorthboundFacts } from "../src/components/NorthboundCard";

afterEach(cleanup);

const online: NorthboundView = {
  state: "online",
  broker: "mqtts://broker.plant:8883",
  messagesPerS: 41,
  metricsPerS: 1250,
  metricsPublished: 90000,
  metricsReplayed: 3000,
  backlogS: 95,
  commandsDone: 2,
  commandsIgnored: 1,
  lastError: null,
  lastErrorAt: null,
};

describe("the northbound card", () => {
  it("shows the broker, the rates and how far the replay is behind", () => {
    render(<NorthboundFacts view={online} />);
    expect(screen.getByTestId("northbound-state").textContent).toBe("online");
    expect(screen.getByTestId("northbound-broker").textContent).toBe("mqtts://broker.plant:8883");
    expect(screen.getByTestId("northbound-backlog").textContent).toBe("95 s behind");
    expect(screen.getByTestId("northbound-error").textContent).toBe("none");
  });

  it("says why a link did not start", () => {
    render(
      <NorthboundFacts
        view={{ ...online, state: "notStarted", broker: null, lastError: "password_env names PW, which is not set" }}
      />,
    );
    expect(screen.getByTestId("northbound-state").textContent).toBe("not started");
    expect(screen.getByTestId("northbound-error").textContent).toContain("password_env names PW");
  });

  it("reads the backlog in the unit people use", () => {
    expect(describeBacklog(0.4)).toBe("caught up");
    expect(describeBacklog(600)).toBe("10 min behind");
    expect(describeBacklog(3 * 3600)).toBe("3.0 h behind");
  });
});
