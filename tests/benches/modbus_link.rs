//! Link benchmark: sequential reads of 125 holding registers on loopback against the libmodbus C
//! server, through Plantwatch's link (`Connection::read`, timeout included), with and without decoding
//! every register as a tag, next to libmodbus's own C client and a bare tokio-modbus client measured in
//! the same run against the same server. Two rows show the traffic monitor's cost: attached and switched
//! off (the poll path's case; it must match the plain row within noise) and switched on.
//!
//! Run: `cargo bench -p plantwatch-system-tests --bench modbus_link` (READS=N to change the count).
//! The engine's bench measures the whole poll path (history hand-off included); this one isolates the
//! link so a regression can be placed.

use std::time::{Duration, Instant};

use plantwatch_core::{Link, SocketEndpoint, Table, Tag, ValueType};
use plantwatch_modbus::{decode_registers, Connection, Payload, TrafficMonitor};
use plantwatch_system_tests::peers::{libmodbus_client_reads_per_second, LibmodbusServer};
use tokio_modbus::client::Reader;

const TIMEOUT: Duration = Duration::from_secs(1);

fn main() {
    let reads: u32 = std::env::var("READS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20_000);
    let server = LibmodbusServer::start(0, 1000);
    let port = server.port();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let tags: Vec<Tag> = (0..125u16).map(register_tag).collect();

    // Warm up every client once, then measure in rounds, keeping each one's best round so a noisy
    // neighbour on the shared machine does not decide the ratio.
    let multi_thread = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let monitor_off = TrafficMonitor::new();
    let monitor_on = TrafficMonitor::new();
    monitor_on.set_enabled(true);
    let mut best = [0.0f64; 7];
    for round in 0..4 {
        let n = if round == 0 { reads / 10 } else { reads };
        let figures = [
            libmodbus_client_reads_per_second(port, n, 125),
            runtime.block_on(bare_tokio_modbus(port, n)),
            runtime.block_on(plantwatch_link(port, n, None, None)),
            runtime.block_on(plantwatch_link(port, n, Some(&tags), None)),
            multi_thread.block_on(plantwatch_link(port, n, None, None)),
            runtime.block_on(plantwatch_link(port, n, None, Some(&monitor_off))),
            runtime.block_on(plantwatch_link(port, n, None, Some(&monitor_on))),
        ];
        if round > 0 {
            for (b, f) in best.iter_mut().zip(figures) {
                *b = b.max(f);
            }
        }
    }
    let reference = best[0];
    println!("modbus_link: {reads} sequential reads of 125 holding registers, loopback, libmodbus server (best of 3 rounds)");
    println!(
        "{:<50} {:>12} {:>14}",
        "client (current-thread runtime unless said)", "reads/s", "vs libmodbus"
    );
    for (name, figure) in [
        ("libmodbus C client (reference)", best[0]),
        ("bare tokio-modbus client", best[1]),
        ("plantwatch Connection::read", best[2]),
        ("plantwatch Connection::read + decode 125 tags", best[3]),
        ("plantwatch Connection::read, 2-worker runtime", best[4]),
        ("plantwatch Connection::read, traffic monitor off", best[5]),
        ("plantwatch Connection::read, traffic monitor on", best[6]),
    ] {
        println!("{name:<50} {figure:>12.0} {:>14.2}", figure / reference);
    }
}

fn register_tag(address: u16) -> Tag {
    Tag::new(
        &format!("r{address}"),
        Table::Holding,
        address,
        ValueType::U16,
    )
    .with_scale(0.1)
}

async fn plantwatch_link(
    port: u16,
    reads: u32,
    tags: Option<&[Tag]>,
    traffic: Option<&TrafficMonitor>,
) -> f64 {
    let link = Link::Tcp(SocketEndpoint {
        host: "127.0.0.1".into(),
        port,
    });
    let mut connection = Connection::open_with(&link, TIMEOUT, traffic)
        .await
        .expect("connect to the libmodbus server");
    let mut checksum = 0.0;
    let began = Instant::now();
    for _ in 0..reads {
        let payload = connection
            .read(1, Table::Holding, 0, 125, TIMEOUT)
            .await
            .expect("link")
            .expect("no exception");
        if let (Some(tags), Payload::Registers(regs)) = (tags, &payload) {
            for (tag, reg) in tags.iter().zip(regs) {
                let value = decode_registers(tag, std::slice::from_ref(reg)).expect("decodes");
                checksum += value.as_f64().unwrap_or_default();
            }
        }
    }
    let rate = f64::from(reads) / began.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    connection.close().await;
    rate
}

async fn bare_tokio_modbus(port: u16, reads: u32) -> f64 {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut context = tokio_modbus::client::tcp::connect(address)
        .await
        .expect("connect");
    let began = Instant::now();
    for _ in 0..reads {
        let regs = context
            .read_holding_registers(0, 125)
            .await
            .expect("link")
            .expect("no exception");
        std::hint::black_box(regs);
    }
    f64::from(reads) / began.elapsed().as_secs_f64()
}
