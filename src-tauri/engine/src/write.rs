//! The engine's one write path: who asks ([`Actor`]), what came of it ([`WriteOutcome`],
//! [`WriteReport`]) and the audit trail's hook ([`WriteAudit`]).
//!
//! A write goes through the same steps whether the running engine sends it through a link task
//! ([`crate::Engine::write_tag`]) or the command line sends it over a connection of its own
//! ([`write_once`]):
//!
//! 1. [`check`]: the tag is writable, the actor's role is enough, the value is of the right kind,
//!    finite, within the tag's `min`/`max` and encodable in its type. Nothing is sent otherwise.
//! 2. [`carry_out`] over one connection, with nothing else in flight on it: read the tag (its old
//!    value, and the register a `bit` tag lives in), write (FC 5 for a coil, FC 6/16 for registers,
//!    FC 22 for a bit, or a read-modify-write of the register where the device lacks FC 22), read the
//!    tag back and compare it with what was sent in raw form (registers or bits, so a u16 with scale
//!    0.01 compares counts, not floats).
//! 3. A pulse (`pulse_ms`) writes `true` without a read-back, then `false` after the pulse, and is
//!    reported once, by the second write.
//! 4. Every attempt, refused or not, is recorded through the audit hook.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use plantwatch_core::{Device, Plant, Role, Table, Tag, TagIndex, Value, ValueType};
use plantwatch_modbus::decode::{
    bit_masks, decode_bit, decode_registers, encode_bit, encode_coil, encode_registers, with_bit,
};
use plantwatch_modbus::link::{exception_name, Connection, LinkError, Payload};

/// Who asks for a write: a signed-in user and the role they act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's name, as the audit trail records it.
    pub user: String,
    pub role: Role,
}

/// What came of one write. Each is shown to the user by its [`WriteOutcome::word`].
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// The device took the write and reads back the value asked for.
    Done,
    /// The device took the write but holds another value (it clamped it, or something changed it).
    Mismatch,
    /// The device answered the write with exception `code`.
    Refused { code: u8 },
    /// No answer: timeout, link down, a malformed reply, or the link busy past the write's deadline.
    Failed { reason: String },
    /// The actor's role is below the tag's `write.role`.
    Denied { needed: Role },
    /// The value lies outside the tag's `write.min`/`write.max` (engineering units).
    OutOfRange { min: Option<f64>, max: Option<f64> },
    /// Not a write this tag can take: read-only, wrong kind of value, NaN, too large for its type.
    Invalid { reason: String },
}

impl WriteOutcome {
    /// The word the user is shown: `done`, `mismatch`, `refused`, `failed`, `denied`, `out of
    /// range`, `invalid`.
    pub fn word(&self) -> &'static str {
        match self {
            WriteOutcome::Done => "done",
            WriteOutcome::Mismatch => "mismatch",
            WriteOutcome::Refused { .. } => "refused",
            WriteOutcome::Failed { .. } => "failed",
            WriteOutcome::Denied { .. } => "denied",
            WriteOutcome::OutOfRange { .. } => "out of range",
            WriteOutcome::Invalid { .. } => "invalid",
        }
    }

    /// True when something reached the device (it may have refused it).
    pub fn was_sent(&self) -> bool {
        matches!(
            self,
            WriteOutcome::Done | WriteOutcome::Mismatch | WriteOutcome::Refused { .. }
        )
    }
}

/// One write attempt, as the user is told and the audit trail records it.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteReport {
    /// The tag's full id, `device/tag`.
    pub tag: String,
    pub actor: Actor,
    /// The tag's value read just before the write, when it was read.
    pub old: Option<Value>,
    pub requested: Value,
    /// The tag's value read back after the write, when it was read.
    pub readback: Option<Value>,
    pub outcome: WriteOutcome,
    /// Why the audit trail could not record this attempt, when it could not.
    pub audit_error: Option<String>,
}

impl WriteReport {
    /// What the user is shown: the outcome's word first, then the tag and the values.
    pub fn message(&self) -> String {
        let tag = &self.tag;
        let requested = &self.requested;
        let was = self
            .old
            .as_ref()
            .map(|old| format!(" (was {old})"))
            .unwrap_or_default();
        let mut text = match &self.outcome {
            WriteOutcome::Done => format!("done: {tag} set to {requested}{was}"),
            WriteOutcome::Mismatch => match &self.readback {
                Some(held) => {
                    format!("mismatch: {tag} was written {requested} but the device holds {held}")
                }
                None => format!("mismatch: {tag} was written {requested} but reads back nothing"),
            },
            WriteOutcome::Refused { code } => format!(
                "refused: the device refused {requested} for {tag} with exception {code:02X} ({})",
                exception_name(*code)
            ),
            WriteOutcome::Failed { reason } => {
                format!("failed: {requested} for {tag}: {reason}")
            }
            WriteOutcome::Denied { needed } => format!(
                "denied: writing {tag} needs the {needed} role; {} is {}",
                self.actor.user, self.actor.role
            ),
            WriteOutcome::OutOfRange { min, max } => format!(
                "out of range: {requested} for {tag} is outside {}",
                range_text(*min, *max)
            ),
            WriteOutcome::Invalid { reason } => {
                format!("invalid: {requested} for {tag}: {reason}")
            }
        };
        if let Some(error) = &self.audit_error {
            text.push_str(&format!(
                " (the audit trail could not record this write: {error})"
            ));
        }
        text
    }
}

impl fmt::Display for WriteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

fn range_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("{min} and above"),
        (None, Some(max)) => format!("{max} and below"),
        (None, None) => "no range".to_string(),
    }
}

/// The audit trail of writes, implemented outside the engine (the users' store). Called for every
/// attempt, including denied and out-of-range ones, with the user's comment.
pub trait WriteAudit: Send + Sync {
    /// Records one attempt; `Err` says why it could not be recorded (the report then says so).
    fn record(&self, report: &WriteReport, comment: Option<&str>) -> Result<(), String>;
}

/// What one checked write sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A coil on or off (FC 5).
    Coil(bool),
    /// Holding registers, encoded in the tag's type and order (FC 6 or FC 16).
    Registers(Vec<u16>),
    /// One bit of a holding register (FC 22, or a read-modify-write).
    Bit { bit: u8, on: bool },
}

/// A checked write: what to send, and for a pulse how long to hold it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked {
    pub command: Command,
    pub pulse: Option<Duration>,
}

/// Checks a write of `requested` to `tag` by `actor` without any I/O: writable, role, kind, finite,
/// range, encodable. The error is the outcome to report (nothing was sent).
pub(crate) fn check(tag: &Tag, requested: &Value, actor: &Actor) -> Result<Checked, WriteOutcome> {
    let invalid = |reason: String| WriteOutcome::Invalid { reason };
    if matches!(tag.table, Table::Input | Table::Discrete) {
        return Err(invalid(format!(
            "the tag is in the {} table, which is read-only",
            tag.table.name()
        )));
    }
    let Some(spec) = tag.write_spec() else {
        return Err(invalid(
            "the tag is read-only (its config has no write = { ... })".to_string(),
        ));
    };
    if !actor.role.allows(spec.role) {
        return Err(WriteOutcome::Denied { needed: spec.role });
    }
    let numeric = !matches!(
        tag.value_type,
        ValueType::Bool | ValueType::Bit(_) | ValueType::String { .. }
    );
    if numeric && tag.table == Table::Holding && matches!(requested, Value::Bool(_)) {
        // `true` for a setpoint is more likely a slip than a wish to write 1.
        return Err(invalid(format!(
            "a {} tag takes a number, not true/false",
            tag.value_type.name()
        )));
    }
    if let Value::Number(n) = requested {
        if !n.is_finite() {
            return Err(invalid("not a finite number".to_string()));
        }
        if !spec.in_range(*n) {
            return Err(WriteOutcome::OutOfRange {
                min: spec.min,
                max: spec.max,
            });
        }
    }
    let command = match (tag.table, tag.value_type) {
        (Table::Coil, _) => encode_coil(tag, requested).map(Command::Coil),
        (_, ValueType::Bit(_)) => {
            encode_bit(tag, requested).map(|(bit, on)| Command::Bit { bit, on })
        }
        _ => encode_registers(tag, requested).map(Command::Registers),
    }
    .map_err(|e| invalid(e.to_string()))?;
    let pulse = spec.pulse_ms.map(|ms| Duration::from_millis(u64::from(ms)));
    if pulse.is_some() && !matches!(requested, Value::Bool(true)) && requested.as_f64() != Some(1.0)
    {
        return Err(invalid(
            "a momentary command (pulse_ms) is written true; it returns to false by itself"
                .to_string(),
        ));
    }
    Ok(Checked { command, pulse })
}

/// What one exchange of a write with the device came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sent {
    pub old: Option<Value>,
    pub readback: Option<Value>,
    pub outcome: WriteOutcome,
}

/// Whether a device takes the mask write (FC 22); learned from its first answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MaskWrite {
    #[default]
    Untried,
    Supported,
    /// The device answered exception 01: bits are written by read-modify-write.
    Unsupported,
}

/// Carries out one checked command on `tag` of `device` over `conn`, with nothing else in flight on
/// it: read, write, and (when `read_back`) read back and compare. The connection is poisoned on a link
/// failure (the caller reopens it).
pub(crate) async fn carry_out(
    conn: &mut Connection,
    device: &Device,
    tag: &Tag,
    command: &Command,
    read_back: bool,
    mask_write: &mut MaskWrite,
) -> Sent {
    let (unit, timeout) = (device.unit, device.timeout);
    let failed = |old: Option<Value>, what: &str, error: LinkError| Sent {
        old,
        readback: None,
        outcome: WriteOutcome::Failed {
            reason: format!("{what}: {error}"),
        },
    };

    // The tag as it is: its old value, and for a bit the register the other bits are kept from.
    let before = match read_raw(conn, device, tag).await {
        Ok(raw) => raw,
        Err(error) => return failed(None, "reading the tag before the write", error),
    };
    let old = before.as_ref().ok().and_then(|raw| decode_raw(tag, raw));

    let written = match command {
        Command::Coil(on) => {
            conn.write(
                unit,
                Table::Coil,
                tag.address,
                &Payload::Bits(vec![*on]),
                timeout,
            )
            .await
        }
        Command::Registers(regs) => {
            conn.write(
                unit,
                Table::Holding,
                tag.address,
                &Payload::Registers(regs.clone()),
                timeout,
            )
            .await
        }
        Command::Bit { bit, on } => {
            write_bit(conn, device, tag, (*bit, *on), &before, mask_write).await
        }
    };
    match written {
        Ok(Ok(())) => {}
        Ok(Err(code)) => {
            return Sent {
                old,
                readback: None,
                outcome: WriteOutcome::Refused { code },
            }
        }
        Err(error) => return failed(old, "the write", error),
    }
    if !read_back {
        return Sent {
            old,
            readback: None,
            outcome: WriteOutcome::Done,
        };
    }

    match read_raw(conn, device, tag).await {
        Ok(Ok(raw)) => {
            let holds = matches_command(&raw, command);
            Sent {
                old,
                readback: decode_raw(tag, &raw),
                outcome: if holds {
                    WriteOutcome::Done
                } else {
                    WriteOutcome::Mismatch
                },
            }
        }
        Ok(Err(code)) => Sent {
            old,
            readback: None,
            outcome: WriteOutcome::Failed {
                reason: format!(
                    "written, but the read-back was refused with exception {code:02X} ({})",
                    exception_name(code)
                ),
            },
        },
        Err(error) => failed(old, "written, but the read-back failed", error),
    }
}

/// Sets or clears one bit of the tag's register: FC 22 where the device takes it, otherwise the
/// register read just before with that bit changed (nothing else is in flight on the link meanwhile).
async fn write_bit(
    conn: &mut Connection,
    device: &Device,
    tag: &Tag,
    (bit, on): (u8, bool),
    before: &Result<Payload, u8>,
    mask_write: &mut MaskWrite,
) -> Result<Result<(), u8>, LinkError> {
    let (unit, timeout) = (device.unit, device.timeout);
    if *mask_write != MaskWrite::Unsupported {
        let (and, or) = bit_masks(bit, on);
        match conn.mask_write(unit, tag.address, and, or, timeout).await? {
            Ok(()) => {
                *mask_write = MaskWrite::Supported;
                return Ok(Ok(()));
            }
            // Illegal function: the device has no FC 22; fall back, and remember.
            Err(0x01) => *mask_write = MaskWrite::Unsupported,
            Err(code) => return Ok(Err(code)),
        }
    }
    let register = match before {
        Ok(Payload::Registers(regs)) if !regs.is_empty() => regs[0],
        Ok(_) => {
            return Err(LinkError::InvalidRequest {
                reason: "the bit's register did not read as a register".to_string(),
            })
        }
        // The register cannot be read, so its other bits cannot be kept: refuse as the device did.
        Err(code) => return Ok(Err(*code)),
    };
    conn.write(
        unit,
        Table::Holding,
        tag.address,
        &Payload::Registers(vec![with_bit(register, bit, on)]),
        timeout,
    )
    .await
}

/// Reads the tag's own items (its registers, or its one bit).
async fn read_raw(
    conn: &mut Connection,
    device: &Device,
    tag: &Tag,
) -> Result<Result<Payload, u8>, LinkError> {
    let count = if tag.table.is_bits() { 1 } else { tag.width() };
    conn.read(device.unit, tag.table, tag.address, count, device.timeout)
        .await
}

fn decode_raw(tag: &Tag, raw: &Payload) -> Option<Value> {
    match raw {
        Payload::Bits(bits) => bits.first().map(|&b| decode_bit(tag, b)),
        Payload::Registers(regs) => decode_registers(tag, regs).ok(),
    }
}

/// Whether the items read back hold what the command wrote, compared raw.
fn matches_command(raw: &Payload, command: &Command) -> bool {
    match (raw, command) {
        (Payload::Bits(bits), Command::Coil(on)) => bits.first() == Some(on),
        (Payload::Registers(regs), Command::Registers(sent)) => regs == sent,
        (Payload::Registers(regs), Command::Bit { bit, on }) => {
            regs.first().is_some_and(|r| (r >> bit & 1 == 1) == *on)
        }
        _ => false,
    }
}

/// Sends checked commands to a device: the link task of the running engine, or a connection of the
/// command line's own.
pub(crate) trait Sender {
    /// Carries out `command` (see [`carry_out`]).
    fn send(&mut self, command: Command, read_back: bool) -> impl Future<Output = Sent> + Send;
}

/// The whole write: check, open a sender (only for a write that passed its checks), send (a pulse
/// twice), record. `full_id` names the tag in the report.
pub(crate) async fn perform<S, Open>(
    tag: &Tag,
    full_id: String,
    requested: Value,
    actor: &Actor,
    comment: Option<&str>,
    audit: Option<&dyn WriteAudit>,
    open: impl FnOnce() -> Open,
) -> WriteReport
where
    S: Sender,
    Open: Future<Output = Result<S, WriteOutcome>>,
{
    let not_sent = |outcome| Sent {
        old: None,
        readback: None,
        outcome,
    };
    let sent = match check(tag, &requested, actor) {
        Err(outcome) => not_sent(outcome),
        Ok(checked) => match open().await {
            Err(outcome) => not_sent(outcome),
            Ok(mut sender) => match checked.pulse {
                None => sender.send(checked.command, true).await,
                Some(pulse) => {
                    let off = off_command(&checked.command);
                    let on = sender.send(checked.command, false).await;
                    if on.outcome == WriteOutcome::Done {
                        tokio::time::sleep(pulse).await;
                        let off = sender.send(off, true).await;
                        // The pulse reads back false when it ended; that is what is compared.
                        Sent { old: on.old, ..off }
                    } else {
                        on
                    }
                }
            },
        },
    };
    let mut report = WriteReport {
        tag: full_id,
        actor: actor.clone(),
        old: sent.old,
        requested,
        readback: sent.readback,
        outcome: sent.outcome,
        audit_error: None,
    };
    if let Some(audit) = audit {
        report.audit_error = audit.record(&report, comment).err();
    }
    report
}

/// What ends a pulse: the same coil, bit or boolean register, false.
fn off_command(on: &Command) -> Command {
    match on {
        Command::Coil(_) => Command::Coil(false),
        Command::Bit { bit, .. } => Command::Bit {
            bit: *bit,
            on: false,
        },
        Command::Registers(regs) => Command::Registers(vec![0; regs.len()]),
    }
}

/// The report of a write to a tag index past the plant (recorded like every attempt).
pub(crate) fn no_such_tag(
    tag: TagIndex,
    requested: Value,
    actor: &Actor,
    comment: Option<&str>,
    audit: Option<&dyn WriteAudit>,
) -> WriteReport {
    let mut report = WriteReport {
        tag: format!("#{}", tag.0),
        actor: actor.clone(),
        old: None,
        requested,
        readback: None,
        outcome: WriteOutcome::Invalid {
            reason: format!("no tag with index {}", tag.0),
        },
        audit_error: None,
    };
    if let Some(audit) = audit {
        report.audit_error = audit.record(&report, comment).err();
    }
    report
}

/// One connection of the command line's own to one device.
struct OwnConnection<'a> {
    conn: Connection,
    device: &'a Device,
    tag: &'a Tag,
    mask_write: MaskWrite,
}

impl Sender for OwnConnection<'_> {
    async fn send(&mut self, command: Command, read_back: bool) -> Sent {
        carry_out(
            &mut self.conn,
            self.device,
            self.tag,
            &command,
            read_back,
            &mut self.mask_write,
        )
        .await
    }
}

/// Writes one tag over a connection of its own (the command line's `write`), without polling or the
/// history writer: the same checks, encoding, read-back and audit as [`crate::Engine::write_tag`].
pub async fn write_once(
    plant: &Plant,
    tag: TagIndex,
    requested: Value,
    actor: &Actor,
    comment: Option<&str>,
    audit: Option<&dyn WriteAudit>,
) -> WriteReport {
    let Some((device, t)) = plant.tag(tag) else {
        return no_such_tag(tag, requested, actor, comment, audit);
    };
    let full_id = format!("{}/{}", device.id, t.id());
    let open = || async {
        Connection::open(&device.link, device.timeout)
            .await
            .map(|conn| OwnConnection {
                conn,
                device,
                tag: t,
                mask_write: MaskWrite::Untried,
            })
            .map_err(|e| WriteOutcome::Failed {
                reason: e.to_string(),
            })
    };
    let report = perform(t, full_id, requested, actor, comment, audit, open).await;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::testing;
    use plantwatch_core::WriteSpec;

    fn operator() -> Actor {
        Actor {
            user: "olga".into(),
            role: Role::Operator,
        }
    }

    fn setpoint() -> Tag {
        testing::tag("start_level", ValueType::U16)
            .with_scale(0.01)
            .with_write(WriteSpec {
                role: Role::Operator,
                min: Some(0.5),
                max: Some(3.0),
                confirm: None,
                pulse_ms: None,
            })
    }

    #[test]
    fn a_setpoint_in_range_encodes_in_raw_counts() {
        assert_eq!(
            check(&setpoint(), &Value::Number(2.25), &operator()),
            Ok(Checked {
                command: Command::Registers(vec![225]),
                pulse: None
            })
        );
    }

    #[test]
    fn each_refusal_before_sending_has_its_outcome() {
        let t = setpoint();
        let viewer = Actor {
            user: "vic".into(),
            role: Role::Viewer,
        };
        assert_eq!(
            check(&t, &Value::Number(2.0), &viewer),
            Err(WriteOutcome::Denied {
                needed: Role::Operator
            })
        );
        assert_eq!(
            check(&t, &Value::Number(3.5), &operator()),
            Err(WriteOutcome::OutOfRange {
                min: Some(0.5),
                max: Some(3.0)
            })
        );
        for bad in [
            Value::Number(f64::NAN),
            Value::Text("2".into()),
            Value::Bool(true),
        ] {
            assert!(matches!(
                check(&t, &bad, &operator()),
                Err(WriteOutcome::Invalid { .. })
            ));
        }
        let read_only = testing::tag("level", ValueType::U16);
        assert!(matches!(
            check(&read_only, &Value::Number(1.0), &operator()),
            Err(WriteOutcome::Invalid { .. })
        ));
    }

    #[test]
    fn every_outcome_has_its_word_in_the_message() {
        let outcomes = [
            WriteOutcome::Done,
            WriteOutcome::Mismatch,
            WriteOutcome::Refused { code: 3 },
            WriteOutcome::Failed {
                reason: "no reply within 1000 ms".into(),
            },
            WriteOutcome::Denied {
                needed: Role::Engineer,
            },
            WriteOutcome::OutOfRange {
                min: Some(0.5),
                max: Some(3.0),
            },
            WriteOutcome::Invalid {
                reason: "not a finite number".into(),
            },
        ];
        for outcome in outcomes {
            let report = WriteReport {
                tag: "plc/start_level".into(),
                actor: operator(),
                old: Some(Value::Number(2.0)),
                requested: Value::Number(2.5),
                readback: Some(Value::Number(2.4)),
                outcome: outcome.clone(),
                audit_error: None,
            };
            let message = report.message();
            assert!(
                message.starts_with(&format!("{}: ", outcome.word()))
                    && message.contains("plc/start_level"),
                "{message}"
            );
        }
    }
}
