import { cleanup, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import type { NorthboundView } from "../src/bindings/ipc";
import { ApiFacts } from "../src/components/ApiCard";
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

describe("the local API card", () => {
  it("says where plant apps and browsers reach the plant", () => {
    render(<ApiFacts view={{ url: "https://plant-pc:8443/api/v1/", screensUrl: "https://plant-pc:8443/", insecure: false }} />);
    expect(screen.getByTestId("api-url").textContent).toBe("https://plant-pc:8443/api/v1/");
    expect(screen.getByTestId("api-screens-url").textContent).toBe("https://plant-pc:8443/");
    expect(screen.queryByTestId("api-insecure")).toBeNull();
  });

  it("warns when tokens travel in clear text, and shows no browser address when the screens are off", () => {
    render(<ApiFacts view={{ url: "http://10.0.0.5:8181/api/v1/", screensUrl: null, insecure: true }} />);
    expect(screen.getByTestId("api-insecure").textContent).toContain("clear text");
    expect(screen.queryByTestId("api-screens-url")).toBeNull();
  });
});
