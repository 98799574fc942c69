//! Serving the station: the listener or serial port, the plant clock's ticker, start and shutdown.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::scenario::{Scenario, ScenarioError};
use crate::service::{Framing, PlantClock, Severable, Shared, SimService};
use crate::station::Station;

/// The fastest the plant clock may run: ten thousand plant seconds a second is already a day in under
/// ten seconds, and keeps one clock tick's catch-up well under a millisecond.
pub const MAX_SPEED: f64 = 10_000.0;

/// How the simulator is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Modbus TCP on `SimOptions::listen`.
    Tcp,
    /// Raw RTU frames over TCP on `SimOptions::listen`, as a transparent serial gateway passes them.
    RtuOverTcp,
    /// Modbus RTU on a serial port (a socat pseudo-terminal works).
    Rtu(SerialPort),
}

impl Transport {
    /// The transport's config spelling: `tcp`, `rtu-over-tcp`, `rtu`.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::RtuOverTcp => "rtu-over-tcp",
            Transport::Rtu(_) => "rtu",
        }
    }
}

/// A serial port to serve RTU on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialPort {
    pub path: String,
    pub baud: u32,
    pub parity: plantwatch_core::Parity,
}

/// What to simulate and where.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen for TCP transports (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    pub transport: Transport,
    pub scenario: Scenario,
    /// Fixes all of the plant's noise.
    pub seed: u64,
    /// Plant seconds per real second (1 = real time), above 0 and at most [`MAX_SPEED`].
    pub speed: f64,
    /// Also serve the unconfigured mystery device (unit 37, see [`crate::mystery`]), for
    /// commissioning practice. Off by default: unit 37 is then absent like any other.
    pub with_mystery: bool,
}

impl Default for SimOptions {
    /// The normal day in real time on a free loopback port, seed 1.
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            transport: Transport::Tcp,
            scenario: Scenario::normal(),
            seed: 1,
            speed: 1.0,
            with_mystery: false,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("speed must be above 0 and at most {MAX_SPEED}, not {0}")]
    BadSpeed(f64),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open serial port {path}: {source}")]
    Serial {
        path: String,
        source: tokio_serial::Error,
    },
}

/// A running simulator. Dropping it stops it too; [`SimServer::shutdown`] also waits for the tasks.
pub struct SimServer {
    local_addr: Option<SocketAddr>,
    transport: Transport,
    shared: Arc<Shared>,
    serve: Option<JoinHandle<()>>,
    ticker: JoinHandle<()>,
}

impl SimServer {
    /// Starts the simulated plant: binds the listener (or opens the serial port) before returning, so
    /// the address is ready for clients. Must be called within a Tokio runtime.
    pub async fn start(options: SimOptions) -> Result<SimServer, SimError> {
        let SimOptions {
            listen,
            transport,
            scenario,
            seed,
            speed,
            with_mystery,
        } = options;
        if !(speed > 0.0 && speed <= MAX_SPEED) {
            return Err(SimError::BadSpeed(speed));
        }
        let framing = match transport {
            Transport::Tcp => Framing::Tcp,
            Transport::RtuOverTcp | Transport::Rtu(_) => Framing::Serial,
        };
        let comm = scenario.comm;
        let station = Station::new(&scenario, seed);
        let shared = Arc::new(Shared::new(
            station,
            PlantClock::start(speed),
            comm,
            framing,
            seed,
            with_mystery,
        ));

        let (local_addr, serve) = match &transport {
            Transport::Tcp | Transport::RtuOverTcp => {
                let listener =
                    TcpListener::bind(listen)
                        .await
                        .map_err(|source| SimError::Bind {
                            addr: listen,
                            source,
                        })?;
                let local = listener.local_addr().map_err(|source| SimError::Bind {
                    addr: listen,
                    source,
                })?;
                let task =
                    tokio::spawn(serve_tcp(listener, transport.clone(), Arc::clone(&shared)));
                (Some(local), task)
            }
            Transport::Rtu(port) => {
                let stream = open_serial(port)?;
                (
                    None,
                    tokio::spawn(serve_serial(port.clone(), stream, Arc::clone(&shared))),
                )
            }
        };
        let ticker = tokio::spawn(tick(Arc::clone(&shared)));
        Ok(SimServer {
            local_addr,
            transport,
            shared,
            serve: Some(serve),
            ticker,
        })
    }

    /// The address clients connect to (TCP transports), with the real port when port 0 was asked for.
    /// `None` when serving on a serial port.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A copy of the station as it is now on the plant clock (for a desktop's "about the simulator").
    pub fn station(&self) -> Station {
        self.shared.with_station(|s| s.clone())
    }

    /// Stops serving and waits until it has stopped: the listener (or serial port) closes and every
    /// open connection is dropped.
    pub async fn shutdown(mut self) {
        self.ticker.abort();
        if let Some(serve) = self.serve.take() {
            serve.abort();
            // The task ends as aborted; nothing else can come back from it.
            let _ = serve.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        // Aborting the serve task drops the listener and, through tokio-modbus's cancellation token,
        // every connection it spawned.
        if let Some(serve) = &self.serve {
            serve.abort();
        }
        self.ticker.abort();
    }
}

/// Keeps the plant moving between requests, so events fire on time and a burst of requests after a
/// quiet spell does not have to catch up a long stretch of plant time at once.
async fn tick(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(50));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        shared.with_station(|_| ());
    }
}

/// Serves Modbus on every connection the listener accepts: MBAP frames (`Transport::Tcp`) or raw RTU
/// frames (`Transport::RtuOverTcp`). Each connection gets its own service and can be severed on its
/// own, as a scenario's dropped connections need.
async fn serve_tcp(listener: TcpListener, transport: Transport, shared: Arc<Shared>) {
    let on_connected = |stream: tokio::net::TcpStream, _peer: SocketAddr| {
        let shared = Arc::clone(&shared);
        async move {
            let severed = Arc::new(AtomicBool::new(false));
            let service = SimService::new(shared, Arc::clone(&severed));
            Ok(Some((service, Severable::new(stream, severed))))
        }
    };
    let connection_ended = |e| tracing::debug!("simulator connection ended: {e}");
    let served = if transport == Transport::RtuOverTcp {
        tokio_modbus::server::rtu_over_tcp::Server::new(listener)
            .serve(&on_connected, connection_ended)
            .await
    } else {
        tokio_modbus::server::tcp::Server::new(listener)
            .serve(&on_connected, connection_ended)
            .await
    };
    if let Err(e) = served {
        tracing::error!("simulator listener failed: {e}");
    }
}

fn open_serial(port: &SerialPort) -> Result<tokio_serial::SerialStream, SimError> {
    let parity = match port.parity {
        plantwatch_core::Parity::None => tokio_serial::Parity::None,
        plantwatch_core::Parity::Even => tokio_serial::Parity::Even,
        plantwatch_core::Parity::Odd => tokio_serial::Parity::Odd,
    };
    let builder = tokio_serial::new(&port.path, port.baud).parity(parity);
    tokio_serial::SerialStream::open(&builder).map_err(|source| SimError::Serial {
        path: port.path.clone(),
        source,
    })
}

async fn serve_serial(port: SerialPort, first: tokio_serial::SerialStream, shared: Arc<Shared>) {
    // A serial line that fails (a USB adapter unplugged, the other end of a pty closed) is opened again
    // once a second, as a device would keep listening on its line; nothing can be dropped on a line, so
    // a "drop" becomes a missing answer.
    let mut stream = Some(first);
    loop {
        if let Some(serial) = stream.take() {
            let service = SimService::new(Arc::clone(&shared), Arc::new(AtomicBool::new(false)));
            let server = tokio_modbus::server::rtu::Server::new(serial);
            if let Err(e) = server.serve_forever(service).await {
                tracing::warn!(
                    "simulator serial port {} failed: {e}; opening it again",
                    port.path
                );
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        stream = open_serial(&port).ok();
    }
}
