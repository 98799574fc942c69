//! `plantwatch simulate`: serve the built-in simulated lift station until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use plantwatch_core::Parity;
use plantwatch_sim::{Scenario, SerialPort, SimOptions, SimServer, Transport};

#[derive(clap::Args)]
pub struct Args {
    /// Where to listen, HOST:PORT (port 0 picks a free port and prints it); default: where
    /// assets/demo-plant.toml points (127.0.0.1:5020).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<SocketAddr>,
    /// A built-in scenario (normal, storm, pump-trip, gas-flood, comm-faults) or a scenario file.
    #[arg(long, value_name = "NAME|FILE", default_value = "normal")]
    scenario: String,
    /// Seed of the plant's noise: the same seed and scenario give the same plant.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Plant seconds per real second (1 = real time, at most 10000).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    speed: f64,
    /// Serve Modbus RTU on this serial port (a socat pseudo-terminal works) instead of TCP.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["listen", "rtu_over_tcp"])]
    serial: Option<String>,
    /// Serial speed for --serial.
    #[arg(
        long,
        value_name = "BAUD",
        default_value_t = 19200,
        requires = "serial"
    )]
    baud: u32,
    /// Serial parity for --serial: none, even or odd.
    #[arg(
        long,
        value_name = "PARITY",
        default_value = "none",
        requires = "serial"
    )]
    parity: String,
    /// Speak raw RTU frames over TCP, as a serial-to-Ethernet gateway does.
    #[arg(long)]
    rtu_over_tcp: bool,
    /// Delay every answer by this many milliseconds (overrides the scenario's [comm] latency_ms).
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// Close the connection instead of answering every Nth request (overrides [comm] drop_every).
    #[arg(long, value_name = "N")]
    drop_every: Option<u64>,
    /// Also serve the unconfigured "mystery device" on unit 37, for commissioning practice
    /// (`plantwatch scan`); its map is in the README's simulator section.
    #[arg(long)]
    with_mystery: bool,
}

pub fn run(args: Args) -> ExitCode {
    let options = match options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("plantwatch simulate: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("plantwatch simulate: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve(options))
}

/// Turns the arguments into validated options; the error is the message for the user.
fn options(args: Args) -> Result<SimOptions, String> {
    let mut scenario = Scenario::load(&args.scenario).map_err(|e| e.to_string())?;
    if let Some(ms) = args.latency_ms {
        scenario.comm.latency_ms = ms;
    }
    if let Some(n) = args.drop_every {
        scenario.comm.drop_every = n;
    }
    if !(args.speed > 0.0 && args.speed <= plantwatch_sim::MAX_SPEED) {
        return Err(format!(
            "--speed must be above 0 and at most {}, not {}",
            plantwatch_sim::MAX_SPEED,
            args.speed
        ));
    }
    let transport = match (&args.serial, args.rtu_over_tcp) {
        (Some(path), _) => {
            let parity = match args.parity.as_str() {
                "none" => Parity::None,
                "even" => Parity::Even,
                "odd" => Parity::Odd,
                other => return Err(format!("--parity must be none, even or odd, not '{other}'")),
            };
            Transport::Rtu(SerialPort {
                path: path.clone(),
                baud: args.baud,
                parity,
            })
        }
        (None, true) => Transport::RtuOverTcp,
        (None, false) => Transport::Tcp,
    };
    let listen = match args.listen {
        Some(addr) => addr,
        None => plantwatch_sim::default_listen()
            .ok_or("assets/demo-plant.toml names no TCP address; give --listen HOST:PORT")?,
    };
    Ok(SimOptions {
        listen,
        transport,
        scenario,
        seed: args.seed,
        speed: args.speed,
        with_mystery: args.with_mystery,
    })
}

async fn serve(options: SimOptions) -> ExitCode {
    let scenario = options.scenario.name.clone();
    let speed = options.speed;
    let mystery = if options.with_mystery {
        " with the mystery device on unit 37"
    } else {
        ""
    };
    let serial = match &options.transport {
        Transport::Rtu(port) => Some(format!(
            "{} ({} 8{}1)",
            port.path,
            port.baud,
            port.parity.letter()
        )),
        _ => None,
    };
    // Listen for the stop signals before the banner says we are ready: a SIGTERM sent the moment the
    // banner arrives must stop the simulator cleanly, not kill it with the default action.
    let stop = match StopSignals::listen() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("plantwatch simulate: cannot wait for signals: {e}");
            return ExitCode::from(1);
        }
    };
    let server = match SimServer::start(options).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("plantwatch simulate: {e}");
            return ExitCode::from(1);
        }
    };
    let place = match (server.local_addr(), serial) {
        (Some(addr), _) => format!("{} {addr}", server.transport().name()),
        (None, Some(port)) => format!("rtu {port}"),
        (None, None) => server.transport().name().to_string(),
    };
    let pace = if speed == 1.0 {
        String::new()
    } else {
        format!(", {speed}x real time")
    };
    println!(
        "plantwatch simulate: serving the lift station (scenario {scenario}{pace}){mystery} on {place}"
    );
    // Tests and scripts wait for this line, so it must not sit in a pipe's buffer.
    let _ = std::io::stdout().flush();

    stop.wait().await;
    server.shutdown().await;
    eprintln!("plantwatch simulate: stopped");
    ExitCode::SUCCESS
}

/// SIGINT (Ctrl-C) and, on Unix, SIGTERM, caught from the moment [`StopSignals::listen`] returns.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Installs the handlers; must be called within the Tokio runtime.
    fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the first of them.
    async fn wait(self) {
        #[cfg(unix)]
        {
            let StopSignals {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            // Without Unix signals, Ctrl-C is the way to stop; if it cannot be watched, stop now
            // rather than serve with no way to end.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
