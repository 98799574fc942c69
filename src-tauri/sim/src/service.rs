//! The Modbus service: routes each request to the device behind its unit id, like a gateway would, and
//! applies the injected communication faults (latency, dropped connections).
//!
//! Unit ids without a device, and drives taken offline by a scenario, get exception 0B (gateway target
//! device failed to respond) over Modbus TCP, because that is what a TCP-to-RTU gateway says when
//! nobody answers on its serial side. Over RTU and RTU over TCP there is no gateway to speak up: they
//! get no answer at all, and the client times out, as on a real RS-485 line. Unit 0 is broadcast and
//! is never answered.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_modbus::{ExceptionCode, Response, SlaveRequest};

use crate::mystery;
use crate::registers::{self, Device, MYSTERY_UNIT};
use crate::rng::Rng;
use crate::scenario::Comm;
use crate::station::Station;

/// How unanswerable requests are treated: a TCP gateway answers 0B, a serial line stays silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Tcp,
    Serial,
}

/// The plant clock: plant seconds run `speed` times faster than real ones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlantClock {
    started: Instant,
    speed: f64,
}

impl PlantClock {
    pub(crate) fn start(speed: f64) -> PlantClock {
        PlantClock {
            started: Instant::now(),
            speed,
        }
    }

    pub(crate) fn now_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.speed
    }
}

/// What every connection shares: the station, its clock and the fault settings.
pub(crate) struct Shared {
    pub(crate) station: Mutex<Station>,
    pub(crate) clock: PlantClock,
    pub(crate) comm: Comm,
    pub(crate) framing: Framing,
    /// Whether the mystery device answers on its unit id.
    pub(crate) with_mystery: bool,
    requests: AtomicU64,
    /// Draws the latency jitter; separate from the plant's generator so that answering never changes
    /// the plant's noise.
    jitter: Mutex<Rng>,
}

impl Shared {
    pub(crate) fn new(
        station: Station,
        clock: PlantClock,
        comm: Comm,
        framing: Framing,
        seed: u64,
        with_mystery: bool,
    ) -> Shared {
        Shared {
            station: Mutex::new(station),
            clock,
            comm,
            framing,
            with_mystery,
            requests: AtomicU64::new(0),
            jitter: Mutex::new(Rng::new(seed ^ 0x5EED_5EED_0F11_A7A7)),
        }
    }

    /// Brings the station up to the plant clock. Poisoning is ignored: the station is plain data and a
    /// panic elsewhere cannot leave it half-updated in a way that matters to a simulator.
    pub(crate) fn with_station<T>(&self, f: impl FnOnce(&mut Station) -> T) -> T {
        let mut station = self.station.lock().unwrap_or_else(|p| p.into_inner());
        station.advance_to(self.clock.now_s());
        f(&mut station)
    }

    fn latency(&self) -> Duration {
        let Comm {
            latency_ms,
            jitter_ms,
            ..
        } = self.comm;
        if latency_ms == 0 && jitter_ms == 0 {
            return Duration::ZERO;
        }
        let jitter = if jitter_ms == 0 {
            0.0
        } else {
            self.jitter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .uniform()
                * jitter_ms as f64
        };
        Duration::from_secs_f64((latency_ms as f64 + jitter) / 1000.0)
    }
}

/// What the simulator does with one request.
enum Outcome {
    Answer(Result<Response, ExceptionCode>),
    /// Say nothing (serial line, broadcast).
    Silence,
    /// Close the connection without answering.
    Drop,
}

/// The service of one connection (or of the serial line).
pub(crate) struct SimService {
    shared: Arc<Shared>,
    /// Set to make this connection's transport fail, which closes it.
    severed: Arc<AtomicBool>,
    /// The station's drop generation when the connection opened.
    drop_generation: u64,
}

impl SimService {
    pub(crate) fn new(shared: Arc<Shared>, severed: Arc<AtomicBool>) -> SimService {
        let drop_generation = shared.with_station(|s| s.drop_generation());
        SimService {
            shared,
            severed,
            drop_generation,
        }
    }

    fn decide(&self, request: &SlaveRequest<'static>) -> Outcome {
        let shared = &self.shared;
        let count = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let every = shared.comm.drop_every;
        if every > 0 && count.checked_rem(every) == Some(0) {
            return Outcome::Drop;
        }
        let unit = request.slave;
        if unit == 0 {
            return Outcome::Silence;
        }
        shared.with_station(|station| {
            if station.drop_generation() > self.drop_generation {
                return Outcome::Drop;
            }
            if shared.with_mystery && unit == MYSTERY_UNIT {
                return Outcome::Answer(mystery::answer(station.clock_s(), &request.request));
            }
            match Device::from_unit(unit) {
                Some(device) if device.is_online(station) => {
                    Outcome::Answer(registers::answer(station, device, &request.request))
                }
                _ => match shared.framing {
                    Framing::Tcp => Outcome::Answer(Err(ExceptionCode::GatewayTargetDevice)),
                    Framing::Serial => Outcome::Silence,
                },
            }
        })
    }
}

type Answer = Result<Option<Response>, ExceptionCode>;

impl tokio_modbus::server::Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        let outcome = self.decide(&request);
        let delay = self.shared.latency();
        let severed = Arc::clone(&self.severed);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match outcome {
                Outcome::Answer(Ok(response)) => Ok(Some(response)),
                Outcome::Answer(Err(code)) => Err(code),
                Outcome::Silence => Ok(None),
                Outcome::Drop => {
                    severed.store(true, Ordering::SeqCst);
                    Ok(None)
                }
            }
        })
    }
}

/// A TCP stream that can be cut from the service side: once `severed` is set, reads fail, so the
/// server's connection loop ends and closes the socket (the server has no other way to drop a client).
pub(crate) struct Severable<T> {
    inner: T,
    severed: Arc<AtomicBool>,
}

impl<T> Severable<T> {
    pub(crate) fn new(inner: T, severed: Arc<AtomicBool>) -> Severable<T> {
        Severable { inner, severed }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Severable<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.severed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "dropped by the simulator",
            )));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Severable<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
