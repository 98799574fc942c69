// The link the workbench talks over: TCP host:port, RTU over TCP, or a serial port with its settings.
import { useEffect, useState } from "preact/hooks";
import type { LinkSpec, ParityName, SerialPortView } from "../../bindings/ipc";
import { useServices } from "../../context";
import { useT } from "../../i18n";

export const BAUDS = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/** A serial port as the list shows it: its path, and the USB adapter's names where known. */
export function portLabel(p: SerialPortView): string {
  const names = [p.usb?.manufacturer, p.usb?.product].filter(Boolean).join(" ");
  const ids = p.usb ? `${p.usb.vendorId}:${p.usb.productId}` : "";
  return [p.path, names, ids].filter((x) => x !== "").join(" — ");
}

/** The link's short form, as the plant file and the command line write it. */
export function linkText(link: LinkSpec): string {
  switch (link.kind) {
    case "tcp":
      return `tcp://${link.host}:${link.port}`;
    case "rtuOverTcp":
      return `rtu-over-tcp://${link.host}:${link.port}`;
    case "rtu":
      return `rtu:${link.path} ${link.baud} ${link.dataBits}${link.parity[0].toUpperCase()}${link.stopBits}`;
  }
}

export function LinkForm({ link, onChange }: { link: LinkSpec; onChange: (l: LinkSpec) => void }) {
  const t = useT();
  const { backend } = useServices();
  const [ports, setPorts] = useState<SerialPortView[]>([]);

  const refreshPorts = () => backend.workbenchPorts().then(setPorts, () => setPorts([]));
  useEffect(() => {
    if (link.kind === "rtu") refreshPorts();
  }, [link.kind]);

  const kind = (k: LinkSpec["kind"]) => {
    if (k === link.kind) return;
    if (k === "rtu") onChange({ kind: "rtu", path: ports[0]?.path ?? "", baud: 19200, parity: "even", dataBits: 8, stopBits: 1 });
    else if (link.kind === "rtu") onChange({ kind: k, host: "127.0.0.1", port: 502 });
    else onChange({ ...link, kind: k });
  };
  const num = (e: Event) => Number((e.currentTarget as HTMLInputElement).value);
  const text = (e: Event) => (e.currentTarget as HTMLInputElement).value;

  return (
    <div class="toolbar link-form" data-testid="wb-link">
      <select aria-label={t("workbench.linkKind")} value={link.kind} onChange={(e) => kind(text(e) as LinkSpec["kind"])} data-testid="wb-link-kind">
        <option value="tcp">{t("workbench.tcp")}</option>
        <option value="rtuOverTcp">{t("workbench.rtuOverTcp")}</option>
        <option value="rtu">{t("workbench.rtu")}</option>
      </select>
      {link.kind !== "rtu" ? (
        <>
          <input aria-label={t("workbench.host")} value={link.host} onInput={(e) => onChange({ ...link, host: text(e) })} data-testid="wb-host" size={16} />
          <input aria-label={t("workbench.port")} type="number" min={1} max={65535} value={link.port} onInput={(e) => onChange({ ...link, port: num(e) })} data-testid="wb-port" class="narrow" />
        </>
      ) : (
        <>
          <input
            aria-label={t("workbench.serialPort")}
            list="wb-ports"
            value={link.path}
            onInput={(e) => onChange({ ...link, path: text(e) })}
            data-testid="wb-serial-path"
            size={18}
          />
          <datalist id="wb-ports">
            {ports.map((p) => (
              <option value={p.path}>{portLabel(p)}</option>
            ))}
          </datalist>
          <button onClick={refreshPorts} title={t("workbench.portsHint")}>
            {t("workbench.ports", { count: ports.length })}
          </button>
          <select aria-label={t("workbench.baud")} value={link.baud} onChange={(e) => onChange({ ...link, baud: num(e) })}>
            {BAUDS.map((b) => (
              <option value={b}>{b}</option>
            ))}
          </select>
          <select aria-label={t("workbench.parity")} value={link.parity} onChange={(e) => onChange({ ...link, parity: text(e) as ParityName })}>
            <option value="none">{t("workbench.parityNone")}</option>
            <option value="even">{t("workbench.parityEven")}</option>
            <option value="odd">{t("workbench.parityOdd")}</option>
          </select>
          <select aria-label={t("workbench.dataBits")} value={link.dataBits} onChange={(e) => onChange({ ...link, dataBits: num(e) })}>
            <option value={8}>8</option>
            <option value={7}>7</option>
          </select>
          <select aria-label={t("workbench.stopBits")} value={link.stopBits} onChange={(e) => onChange({ ...link, stopBits: num(e) })}>
            <option value={1}>1</option>
            <option value={2}>2</option>
          </select>
        </>
      )}
      {ports.length > 0 && link.kind === "rtu" && (
        <ul class="muted port-list" aria-label={t("workbench.serialPorts")}>
          {ports.map((p) => (
            <li>{portLabel(p)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
